"""The port behind which blobs live: content-addressed bytes, named by their SHA-256.

The service decides when a blob is placed or removed (the `blobs` row counts its references); a
store only moves bytes. The local disk is the default (`adapters/local_blobs.py`), an S3 bucket
the other (`adapters/s3_blobs.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol


class BlobStore(Protocol):
    async def place(self, source: Path, sha256: str) -> None:
        """Store the finished file `source` as blob `sha256`, all or nothing (`source` stays;
        the caller removes it). Placing a blob that exists keeps the one there: same digest,
        same bytes."""
        ...

    def chunks(self, sha256: str, chunk_bytes: int) -> AsyncIterator[bytes]:
        """The blob's bytes, `chunk_bytes` at a time."""
        ...

    async def remove(self, sha256: str) -> None:
        """Delete the blob; removing one that is not there is not an error."""
        ...

    async def exists(self, sha256: str) -> bool: ...
