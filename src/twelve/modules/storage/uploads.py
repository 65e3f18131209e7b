"""Open uploads: content arriving in chunks, written to a temp file and hashed as it comes.

An upload is bounded three ways: its size (past `max_bytes` it is discarded and the caller gets
413 `file_too_large`), the number open at once (one more is a 429), and idleness (an upload not
fed for `idle_seconds` is discarded when the next one opens). Only its customer may feed, finish
or abort it; another customer's upload id is a 404 like an unknown one. Temp files live under the
blob root so that finishing is a rename; whatever a crash left there is removed at start.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from twelve.kernel.errors import NotFound, PayloadTooLarge, TwelveError
from twelve.modules.storage.api import OpenUpload


class TooManyUploads(TwelveError):
    status = 429
    type = "rate_limit_error"
    code = "too_many_uploads"


@dataclass
class _Open:
    meta: OpenUpload
    path: Path
    handle: IO[bytes]
    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)
    size: int = 0
    touched: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class Finished:
    """A complete upload: its temp file (the caller places or deletes it), digest and size."""

    meta: OpenUpload
    path: Path
    sha256: str
    size: int


class Uploads:
    def __init__(
        self, directory: Path, *, max_bytes: int, max_open: int, idle_seconds: float
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_open = max_open
        self.idle_seconds = idle_seconds
        self._open: dict[str, _Open] = {}

    def clear(self) -> None:
        """Remove temp files a previous process left (none of its uploads can be finished)."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def open(self, meta: OpenUpload) -> str:
        await self._discard_idle()
        if len(self._open) >= self.max_open:
            raise TooManyUploads(
                "Too many uploads are in progress; retry shortly.", headers={"retry-after": "1"}
            )
        upload_id = f"upload-{secrets.token_hex(12)}"
        path = self.directory / upload_id
        self.directory.mkdir(parents=True, exist_ok=True)
        handle = await asyncio.to_thread(path.open, "xb")
        self._open[upload_id] = _Open(meta=meta, path=path, handle=handle)
        return upload_id

    async def append(self, customer_id: str, upload_id: str, data: bytes) -> int:
        upload = self._owned(customer_id, upload_id)
        async with upload.lock:
            if self._open.get(upload_id) is not upload:  # discarded while we waited
                raise _unknown(upload_id)
            if upload.size + len(data) > self.max_bytes:
                await self._discard(upload_id)
                raise too_large(self.max_bytes)
            await asyncio.to_thread(_write, upload, data)
            upload.size += len(data)
            upload.touched = time.monotonic()
            return upload.size

    async def finish(self, customer_id: str, upload_id: str) -> Finished:
        upload = self._owned(customer_id, upload_id)
        async with upload.lock:
            if self._open.pop(upload_id, None) is not upload:
                raise _unknown(upload_id)
            await asyncio.to_thread(upload.handle.close)
            return Finished(upload.meta, upload.path, upload.hasher.hexdigest(), upload.size)

    async def abort(self, customer_id: str, upload_id: str) -> bool:
        upload = self._open.get(upload_id)
        if upload is None or upload.meta.customer_id != customer_id:
            return False
        async with upload.lock:
            return await self._discard(upload_id)

    async def close(self) -> None:
        for upload_id in list(self._open):
            await self._discard(upload_id)

    def _owned(self, customer_id: str, upload_id: str) -> _Open:
        upload = self._open.get(upload_id)
        if upload is None or upload.meta.customer_id != customer_id:
            raise _unknown(upload_id)
        return upload

    async def _discard(self, upload_id: str) -> bool:
        upload = self._open.pop(upload_id, None)
        if upload is None:
            return False
        await asyncio.to_thread(_drop, upload)
        return True

    async def _discard_idle(self) -> None:
        now = time.monotonic()
        for upload_id, upload in list(self._open.items()):
            if now - upload.touched > self.idle_seconds and not upload.lock.locked():
                await self._discard(upload_id)


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"File is larger than the limit of {max_bytes} bytes.", param="file", code="file_too_large"
    )


def _unknown(upload_id: str) -> NotFound:
    return NotFound(f"No such upload: {upload_id[:100]}", param="upload_id")


def _write(upload: _Open, data: bytes) -> None:
    upload.handle.write(data)
    upload.hasher.update(data)


def _drop(upload: _Open) -> None:
    upload.handle.close()
    upload.path.unlink(missing_ok=True)
