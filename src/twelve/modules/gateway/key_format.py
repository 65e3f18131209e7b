"""The API key format: `tw-`, 256 random bits in base62, and a CRC32 checksum in base62.

    tw-<43 base62 characters: the secret><6 base62 characters: CRC32 of the secret>

The checksum (as in GitHub's tokens) lets the gateway refuse a mistyped or invented key from its
shape alone, before any hashing, cache entry or database lookup: a key an attacker makes up passes
with odds of one in 2**32, so unknown keys cost neither a query nor a slot in the key cache.

Keys issued before the checksum (`tw-` and 43 base64url characters, "legacy") keep working; see
`KeyRegistry` for how they are recognised without a lookup per unknown key.

What is stored of a key is its SHA-256 (`hash_key`) and its first `SHOWN_CHARS` characters.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib
from enum import Enum

PREFIX = "tw-"
_ALPHABET = string.digits + string.ascii_letters  # base62
_ALPHABET_SET = frozenset(_ALPHABET)
_URLSAFE_SET = frozenset(string.ascii_letters + string.digits + "-_")
_SECRET_CHARS = 43  # ceil(256 / log2(62))
_CHECKSUM_CHARS = 6  # 62**6 > 2**32
LENGTH = len(PREFIX) + _SECRET_CHARS + _CHECKSUM_CHARS
LEGACY_LENGTH = len(PREFIX) + 43  # token_urlsafe(32)
SHOWN_CHARS = 10


class KeyShape(Enum):
    CHECKSUMMED = "checksummed"
    LEGACY = "legacy"
    INVALID = "invalid"


def new_key() -> str:
    secret = _base62(secrets.randbits(256), _SECRET_CHARS)
    return PREFIX + secret + _checksum(secret)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def shape(key: str) -> KeyShape:
    """What `key` looks like, from its characters alone (no I/O)."""
    if not key.startswith(PREFIX):
        return KeyShape.INVALID
    body = key[len(PREFIX) :]
    if len(key) == LENGTH and _ALPHABET_SET.issuperset(body):
        secret, checksum = body[:_SECRET_CHARS], body[_SECRET_CHARS:]
        if secrets.compare_digest(_checksum(secret), checksum):
            return KeyShape.CHECKSUMMED
        return KeyShape.INVALID
    if len(key) == LEGACY_LENGTH and _URLSAFE_SET.issuperset(body):
        return KeyShape.LEGACY
    return KeyShape.INVALID


def _checksum(secret: str) -> str:
    return _base62(zlib.crc32(secret.encode("ascii")), _CHECKSUM_CHARS)


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits)).rjust(width, "0")
