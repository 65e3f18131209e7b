"""The admin key: from TWELVE_ADMIN_KEY, or generated once and kept in the data directory.

Only a SHA-256 of the key is held in memory for checks; the generated key is written with mode
0600 and printed once, the first time, so an operator can copy it.

The file is checked as strictly as a secret should be: empty or shorter than `MIN_LENGTH`, or
readable by group or others, and the server refuses to start (`AdminKeyError`, one line). The file
is watched, not read once: `twelve admin-key rotate` replaces it atomically and a running server
takes the new key at the next admin request (it compares the file's inode, size and mtime, one
`stat` per admin request). A file spoilt while serving fails closed: no admin request matches.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from twelve.kernel.telemetry.logging import get_logger

FILE_NAME = "admin.key"
MIN_LENGTH = 32
_KEY_PREFIX = "twadmin-"

log = get_logger("twelve.admin.admin_key")


class AdminKeyError(ValueError):
    """The admin key file cannot be trusted; the message is one line for the operator."""


@dataclass(frozen=True)
class _FileStamp:
    inode: int
    size: int
    mtime_ns: int


class AdminKeySource:
    """Where the admin key came from (for the start-up message), and the check of a key."""

    def __init__(
        self,
        digest: bytes,
        origin: str,  # "env", "file" or "generated"
        path: Path | None,
        generated_key: str | None = None,
    ) -> None:
        self.digest: bytes | None = digest
        self.origin = origin
        self.path = path
        self.generated_key = generated_key
        self._stamp = _stamp(path) if path is not None else None

    def matches(self, presented: str) -> bool:
        if self.path is not None:
            self._reload_if_changed(self.path)
        if self.digest is None:
            return False
        return hmac.compare_digest(hashlib.sha256(presented.encode()).digest(), self.digest)

    def _reload_if_changed(self, path: Path) -> None:
        try:
            stamp = _stamp(path)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self.digest = _digest(read_key_file(path))
            log.info("admin_key_reloaded", path=str(path))
        except (AdminKeyError, OSError) as exc:
            self.digest = None
            log.error("admin_key_unusable", path=str(path), error=str(exc))


def load_admin_key(configured: str | None, data_dir: Path) -> AdminKeySource:
    """The admin key; raises `AdminKeyError` when the key file exists but cannot be trusted."""
    if configured:
        return AdminKeySource(_digest(configured), "env", None)
    path = data_dir / FILE_NAME
    if path.exists():
        return AdminKeySource(_digest(read_key_file(path)), "file", path)
    key = new_admin_key()
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return AdminKeySource(_digest(key), "generated", path, generated_key=key)


def new_admin_key() -> str:
    return _KEY_PREFIX + secrets.token_urlsafe(32)


def read_key_file(path: Path) -> str:
    """The key in `path`, refused if others may read it or it is too short to be a real key."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise AdminKeyError(
            f"{path} is readable by group or others (mode {mode:04o}); run `chmod 600 {path}`"
        )
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_LENGTH:
        what = "empty" if not key else f"only {len(key)} characters (truncated?)"
        raise AdminKeyError(
            f"{path} is {what}; an admin key has at least {MIN_LENGTH} characters: "
            "delete the file to generate a new one, or run `twelve admin-key rotate`"
        )
    return key


def rotate_admin_key(data_dir: Path) -> tuple[str, Path]:
    """Write a new key to `data_dir/admin.key` atomically (mode 0600); return it and the path."""
    key = new_admin_key()
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / FILE_NAME
    temporary = data_dir / f".{FILE_NAME}.{secrets.token_hex(6)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)  # atomic: a reader sees the old key or the new, never half
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return key, path


def _stamp(path: Path) -> _FileStamp:
    info = path.stat()
    return _FileStamp(info.st_ino, info.st_size, info.st_mtime_ns)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
