"""The admin key: from TWELVE_ADMIN_KEY, or generated once and kept in the data directory.

Only a SHA-256 of the key is held in memory for checks; the generated key is written with mode
0600 and printed once, the first time, so an operator can copy it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "admin.key"


@dataclass(frozen=True)
class AdminKeySource:
    """Where the admin key came from, for the start-up message."""

    digest: bytes
    origin: str  # "env", "file" or "generated"
    path: Path | None
    generated_key: str | None = None

    def matches(self, presented: str) -> bool:
        return hmac.compare_digest(hashlib.sha256(presented.encode()).digest(), self.digest)


def load_admin_key(configured: str | None, data_dir: Path) -> AdminKeySource:
    if configured:
        return AdminKeySource(_digest(configured), "env", None)
    path = data_dir / FILE_NAME
    if path.exists():
        return AdminKeySource(_digest(path.read_text(encoding="utf-8").strip()), "file", path)
    key = "twadmin-" + secrets.token_urlsafe(32)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return AdminKeySource(_digest(key), "generated", path, generated_key=key)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
