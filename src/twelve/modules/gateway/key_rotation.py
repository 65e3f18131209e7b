"""Rotating a key: a new secret for the same key id, the old one still answering for a grace period.

The row keeps one previous secret (its hash and `previous_expires_at`): authentication finds the
key by either hash, and refuses the previous one once its grace is over. A second rotation replaces
the previous secret, so it ends the first rotation's grace at once; a grace of 0 ends it at once
too. Revoking the key ends both secrets.

The new values are written only if the key still has the secret that was read, so two rotations at
the same moment cannot both succeed (the second is a 409, on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from twelve.kernel.errors import Conflict, NotFound
from twelve.modules.gateway.adapters.tables import api_keys
from twelve.modules.gateway.api import IssuedApiKey
from twelve.modules.gateway.key_format import SHOWN_CHARS, KeyShape, hash_key, new_key
from twelve.modules.gateway.key_rows import api_key


@dataclass(frozen=True)
class Rotation:
    issued: IssuedApiKey
    # The hashes whose cached lookups are stale once the rotation commits.
    stale_hashes: tuple[str, ...]


async def rotate(conn: AsyncConnection, key_id: str, grace_seconds: int) -> Rotation:
    row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
    if row is None or row._mapping["revoked_at"] is not None:
        raise NotFound(f"No such API key (or it is revoked): {key_id!r}.", param="id")
    old = row._mapping
    key = new_key()
    digest = hash_key(key)
    now = int(time.time())
    values = {
        "key_hash": digest,
        "prefix": key[:SHOWN_CHARS],
        "format": KeyShape.CHECKSUMMED.value,
        "rotated_at": now,
        "previous_key_hash": old["key_hash"] if grace_seconds else None,
        "previous_expires_at": now + grace_seconds if grace_seconds else None,
    }
    done = await conn.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            api_keys.c.key_hash == old["key_hash"],
            api_keys.c.revoked_at.is_(None),
        )
        .values(**values)
    )
    if done.rowcount != 1:
        raise Conflict(
            f"The key {key_id!r} was rotated or revoked at the same moment; try again.",
            param="id",
        )
    rotated = api_key(dict(old) | values)
    stale = tuple(h for h in (old["key_hash"], old["previous_key_hash"], digest) if h is not None)
    return Rotation(IssuedApiKey(**rotated.model_dump(), key=key), stale)
