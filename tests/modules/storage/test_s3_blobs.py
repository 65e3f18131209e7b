"""The S3 blob store against moto's S3 server on 127.0.0.1 (a real HTTP server speaking S3): single
and multipart puts, chunked reads, removal, and the storage service's dedup and deletion on it."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from tests.databases import module_database
from tests.e2e.server import free_port
from twelve.modules.storage.adapters.s3_blobs import PART_BYTES, S3Blobs
from twelve.modules.storage.api import PutFile
from twelve.modules.storage.service import Storage
from twelve.modules.storage.uploads import Uploads

BUCKET = "twelve-files"


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
async def blobs(s3_url: str) -> AsyncIterator[S3Blobs]:
    store = S3Blobs(
        bucket=BUCKET,
        prefix=f"t{os.urandom(4).hex()}/",
        endpoint_url=s3_url,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
    )
    await store.start()
    with contextlib.suppress(store.client.exceptions.BucketAlreadyOwnedByYou):
        await store.client.create_bucket(Bucket=BUCKET)
    yield store
    await store.close()


def temp_file(directory: Path, content: bytes) -> tuple[Path, str]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / os.urandom(6).hex()
    path.write_bytes(content)
    return path, hashlib.sha256(content).hexdigest()


async def keys(store: S3Blobs) -> list[str]:
    listed = await store.client.list_objects_v2(Bucket=BUCKET, Prefix=store.prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


@pytest.mark.parametrize("size", [10, PART_BYTES + 12345])
async def test_place_read_and_remove(blobs: S3Blobs, tmp_path: Path, size: int) -> None:
    content = os.urandom(size)
    source, sha = temp_file(tmp_path, content)
    assert not await blobs.exists(sha)
    await blobs.place(source, sha)
    assert source.exists() and await blobs.exists(sha)  # the caller removes its temp file
    assert await keys(blobs) == [f"{blobs.prefix}{sha[:2]}/{sha}"]
    chunks = [c async for c in blobs.chunks(sha, 64 * 1024)]
    assert b"".join(chunks) == content and max(len(c) for c in chunks) <= 64 * 1024
    again, _ = temp_file(tmp_path, content)
    await blobs.place(again, sha)  # already there: kept
    assert len(await keys(blobs)) == 1
    await blobs.remove(sha)
    assert not await blobs.exists(sha) and await keys(blobs) == []
    await blobs.remove(sha)  # twice is fine


async def test_the_storage_service_on_s3(blobs: S3Blobs, tmp_path: Path) -> None:
    async with module_database("storage", "sqlite", tmp_path) as db:
        uploads = Uploads(tmp_path / "uploads", max_bytes=1 << 20, max_open=4, idle_seconds=60)
        storage = Storage(db, blobs, uploads)
        content = base64.b64encode(b"shared content")
        put = {"filename": "f.txt", "purpose": "batch", "content": content}
        a = await storage.put_file(PutFile(customer_id="cus_a", **put))
        b = await storage.put_file(PutFile(customer_id="cus_b", **put))
        assert a.sha256 == b.sha256 and len(await keys(blobs)) == 1
        read = await storage.read_file("cus_b", b.id)
        assert read is not None and read.content == b"shared content"
        assert await storage.delete_file("cus_a", a.id)
        assert len(await keys(blobs)) == 1
        assert await storage.delete_file("cus_b", b.id)
        assert await keys(blobs) == []
        assert list((tmp_path / "uploads").iterdir()) == []
