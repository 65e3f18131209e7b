"""Blobs on the local disk: `<root>/<first two hex digits>/<sha256>`.

A blob arrives as a finished temp file on the same filesystem (the uploads' directory is under the
same root) and is hard-linked into place after an fsync, so a reader never sees half a blob and a
crash leaves at most a stray temp file (cleared at start), never a truncated blob under a digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class LocalBlobs:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if not _DIGEST.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256

    async def place(self, source: Path, sha256: str) -> None:
        await asyncio.to_thread(self._place, source, self.path_of(sha256))

    @staticmethod
    def _place(source: Path, target: Path) -> None:
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as handle:
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # placed by a concurrent put: same bytes
            os.link(source, target)

    async def chunks(self, sha256: str, chunk_bytes: int) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self.path_of(sha256).open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_bytes):
                yield chunk
        finally:
            handle.close()

    async def remove(self, sha256: str) -> None:
        await asyncio.to_thread(self.path_of(sha256).unlink, missing_ok=True)

    async def exists(self, sha256: str) -> bool:
        return await asyncio.to_thread(self.path_of(sha256).exists)
