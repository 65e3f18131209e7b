"""The storage service on a real database (SQLite and PostgreSQL) with blobs under tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.databases import module_database
from twelve.modules.storage.adapters.local_blobs import LocalBlobs
from twelve.modules.storage.service import Storage
from twelve.modules.storage.uploads import Uploads

MAX_BYTES = 3 * 1024 * 1024 + 10


@pytest.fixture
async def storage(backend: str, tmp_path: Path) -> AsyncIterator[Storage]:
    async with module_database("storage", backend, tmp_path) as db:
        root = tmp_path / "blobs"
        uploads = Uploads(root / "uploads", max_bytes=MAX_BYTES, max_open=4, idle_seconds=60)
        uploads.clear()
        yield Storage(db, LocalBlobs(root), uploads)
        await uploads.close()
