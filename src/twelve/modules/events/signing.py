"""Standard Webhooks signatures: `webhook-id`, `webhook-timestamp`, `webhook-signature`.

Each customer has one secret (`whsec_` + base64 of 32 random bytes), made on first use. The
secret must be kept to sign with, so it is stored as is (unlike API keys, which are only
compared and are kept hashed). Right after a rotation both the new and the replaced secret sign
(`v1,<new> v1,<old>`, the spec's way), so a receiver still holding the old secret accepts the
next deliveries until it is updated.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(webhook_id: str, timestamp: int, payload: str, keys: Sequence[str]) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt, signed with every key given."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    signature = " ".join(Webhook(key).sign(webhook_id, moment, payload) for key in keys)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
