"""Who is calling: the bearer key, checked for shape before any lookup, then for expiry.

A key that cannot be one of ours (wrong prefix, odd characters, absurd length) is refused without
touching the key store, so made-up keys cost neither a database query nor a key-cache entry.
Expiry is checked on every request, not at lookup: a cached principal may outlive its key's
`expires_at` (the check is one clock read, and only for keys that expire).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from twelve.kernel.errors import AuthenticationFailed
from twelve.kernel.telemetry.metrics import REJECTIONS
from twelve.modules.gateway.api import KeysService, Principal
from twelve.modules.gateway.exchange import Exchange, Settle

# `tw-` and URL-safe base64 (today 43 characters of it); the bound leaves room for a checksum.
_KEY_SHAPE = re.compile(r"tw-[A-Za-z0-9_-]{16,128}")
_EXPIRED = REJECTIONS.labels("expired")


class Authenticate:
    def __init__(self, keys: KeysService) -> None:
        self._keys = keys

    async def admit(self, exchange: Exchange) -> Settle | None:
        # In-process callers that authenticated the key themselves (a job's attempt, which looked
        # its key up by id) set the principal; HTTP exchanges never do.
        if exchange.principal is None:
            exchange.principal = await self.principal(exchange.token)
        return None

    async def principal(self, token: str) -> Principal:
        if not token:
            raise AuthenticationFailed(
                "You didn't provide an API key. Send it as 'Authorization: Bearer tw-...'.",
                code="missing_api_key",
            )
        principal = await self._keys.authenticate(token) if _KEY_SHAPE.fullmatch(token) else None
        if principal is None:
            raise AuthenticationFailed("Incorrect API key provided.")
        if principal.expires_at is not None and time.time() >= principal.expires_at:
            _EXPIRED.inc()
            raise expired(principal.expires_at)
        return principal


def expired(expires_at: float) -> AuthenticationFailed:
    when = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return AuthenticationFailed(
        f"This API key expired at {when}. Ask for a new key, or for this one's `expires_at` "
        "to be moved.",
        code="expired_api_key",
    )
