"""Files per customer on SQLite and PostgreSQL: content-addressed blobs stored once, removed with
their last file; chunked uploads bounded in size and count; another customer's file is None."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path

import pytest

from tests.modules.storage.conftest import MAX_BYTES
from twelve.kernel.errors import NotFound, PayloadTooLarge
from twelve.modules.storage.adapters.local_blobs import LocalBlobs
from twelve.modules.storage.api import (
    CHUNK_BYTES,
    READ_CHUNK_BYTES,
    OpenUpload,
    PutFile,
    UploadChunk,
)
from twelve.modules.storage.service import Storage
from twelve.modules.storage.uploads import TooManyUploads


def put(
    customer: str,
    content: bytes,
    *,
    purpose: str = "batch",
    name: str = "a.jsonl",
    key: str | None = None,
) -> PutFile:
    encoded = base64.b64encode(content)
    return PutFile(
        customer_id=customer, filename=name, purpose=purpose, content=encoded, idempotency_key=key
    )


def blob_files(storage: Storage) -> list[Path]:
    root = storage.blobs.root  # type: ignore[attr-defined]
    return [p for p in root.glob("??/*") if p.is_file()]


def temp_files(storage: Storage) -> list[Path]:
    return list(storage.uploads.directory.iterdir())


async def test_put_get_read_and_the_blob_on_disk(storage: Storage) -> None:
    content = b'{"a": 1}\n' * 1000
    stored = await storage.put_file(put("cus_a", content))

    assert stored.id.startswith("file-") and stored.bytes == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert await storage.get_file("cus_a", stored.id) == stored
    read = await storage.read_file("cus_a", stored.id)
    assert read is not None and read.content == content and read.file == stored
    [blob] = blob_files(storage)
    assert blob.name == stored.sha256 and blob.read_bytes() == content
    assert temp_files(storage) == []


async def test_a_put_under_a_key_stored_already_returns_the_first_file(storage: Storage) -> None:
    """A job's result stored by a step that a crash made run twice is one file, also when the
    two puts race; the key is the customer's own (another customer's same key is another file)."""
    first = await storage.put_file(put("cus_a", b"result one", key="job_1:1"))
    again = await storage.put_file(put("cus_a", b"result two", key="job_1:1"))
    assert again == first
    racing = await asyncio.gather(
        *(storage.put_file(put("cus_a", b"raced", key="job_2:1")) for _ in "abc")
    )
    assert len({f.id for f in racing}) == 1
    other = await storage.put_file(put("cus_b", b"result one", key="job_1:1"))
    assert other.id != first.id
    assert len((await storage.list_files("cus_a")).data) == 2
    read = await storage.read_file("cus_a", first.id)
    assert read is not None and read.content == b"result one"
    assert temp_files(storage) == []


async def test_another_customers_file_is_none_everywhere(storage: Storage) -> None:
    stored = await storage.put_file(put("cus_a", b"secret"))
    assert await storage.get_file("cus_b", stored.id) is None
    assert await storage.read_file("cus_b", stored.id) is None
    assert await storage.delete_file("cus_b", stored.id) is False
    assert (await storage.list_files("cus_b")).data == []
    with pytest.raises(NotFound):
        [c async for c in storage.read_chunks("cus_b", stored.id)]
    assert await storage.get_file("cus_a", stored.id) == stored


async def test_same_content_is_one_blob_removed_with_its_last_file(storage: Storage) -> None:
    first = await storage.put_file(put("cus_a", b"same bytes"))
    second = await storage.put_file(put("cus_b", b"same bytes", name="b.txt"))
    other = await storage.put_file(put("cus_a", b"other bytes"))
    assert first.sha256 == second.sha256 != other.sha256
    assert len(blob_files(storage)) == 2

    assert await storage.delete_file("cus_a", first.id) is True
    assert await storage.delete_file("cus_a", first.id) is False  # twice is not an error
    assert len(blob_files(storage)) == 2  # cus_b still references it
    read = await storage.read_file("cus_b", second.id)
    assert read is not None and read.content == b"same bytes"

    assert await storage.delete_file("cus_b", second.id) is True
    assert [p.name for p in blob_files(storage)] == [other.sha256]
    # The same content again after its blob went: stored anew, readable.
    again = await storage.put_file(put("cus_c", b"same bytes"))
    assert (await storage.read_file("cus_c", again.id)).content == b"same bytes"  # type: ignore[union-attr]


async def test_concurrent_puts_and_deletes_of_one_content_keep_the_blob_right(
    storage: Storage,
) -> None:
    content = b"contended"
    keep = await storage.put_file(put("cus_keep", content))

    async def churn(i: int) -> None:
        stored = await storage.put_file(put(f"cus_{i}", content))
        assert await storage.delete_file(f"cus_{i}", stored.id)

    await asyncio.gather(*(churn(i) for i in range(12)))
    read = await storage.read_file("cus_keep", keep.id)
    assert read is not None and read.content == content
    await storage.delete_file("cus_keep", keep.id)
    assert blob_files(storage) == []


async def test_list_pages_by_cursor_in_both_orders_and_by_purpose(storage: Storage) -> None:
    ids = [(await storage.put_file(put("cus_a", bytes([i])))).id for i in range(5)]
    await storage.put_file(put("cus_a", b"x", purpose="user_data"))
    await storage.put_file(put("cus_b", b"y"))

    page = await storage.list_files("cus_a", purpose="batch", limit=2)
    assert [f.id for f in page.data] == ids[::-1][:2] and page.has_more
    rest = await storage.list_files("cus_a", purpose="batch", limit=10, after=page.data[-1].id)
    assert [f.id for f in rest.data] == ids[::-1][2:] and not rest.has_more
    ascending = await storage.list_files("cus_a", purpose="batch", order="asc", after=ids[1])
    assert [f.id for f in ascending.data] == ids[2:]
    assert len((await storage.list_files("cus_a")).data) == 6
    assert (await storage.list_files("cus_a", after="file-unknown")).data == []


async def test_a_chunked_upload_is_one_file(storage: Storage) -> None:
    upload = await storage.open_upload(
        OpenUpload(customer_id="cus_a", filename="big.bin", purpose="batch")
    )
    parts = [bytes([i]) * CHUNK_BYTES for i in range(3)]
    for part in parts:
        chunk = UploadChunk(customer_id="cus_a", upload_id=upload.id, data=base64.b64encode(part))
        await storage.append_upload(chunk)
    with pytest.raises(NotFound):  # only its customer may finish it
        await storage.finish_upload("cus_b", upload.id)
    stored = await storage.finish_upload("cus_a", upload.id)

    assert stored.bytes == 3 * CHUNK_BYTES
    chunks = [c.data async for c in storage.read_chunks("cus_a", stored.id)]
    assert {len(c) for c in chunks} == {READ_CHUNK_BYTES} and b"".join(chunks) == b"".join(parts)
    assert temp_files(storage) == []
    with pytest.raises(NotFound):  # finished: gone
        await storage.finish_upload("cus_a", upload.id)


async def test_an_oversized_upload_is_413_and_leaves_nothing(storage: Storage) -> None:
    upload = await storage.open_upload(
        OpenUpload(customer_id="cus_a", filename="big.bin", purpose="batch")
    )
    part = base64.b64encode(b"x" * CHUNK_BYTES)
    for _ in range(3):
        await storage.append_upload(
            UploadChunk(customer_id="cus_a", upload_id=upload.id, data=part)
        )
    with pytest.raises(PayloadTooLarge) as raised:
        await storage.append_upload(
            UploadChunk(customer_id="cus_a", upload_id=upload.id, data=part)
        )
    assert (raised.value.status, raised.value.code) == (413, "file_too_large")
    assert temp_files(storage) == [] and blob_files(storage) == []
    with pytest.raises(PayloadTooLarge):
        await storage.put_file(put("cus_a", b"x" * (MAX_BYTES + 1)))
    assert temp_files(storage) == [] and (await storage.list_files("cus_a")).data == []


async def test_open_uploads_are_bounded_and_aborts_clean_up(storage: Storage) -> None:
    meta = OpenUpload(customer_id="cus_a", filename="f", purpose="batch")
    uploads = [await storage.open_upload(meta) for _ in range(4)]
    with pytest.raises(TooManyUploads) as raised:
        await storage.open_upload(meta)
    assert raised.value.status == 429
    assert await storage.abort_upload("cus_b", uploads[0].id) is False  # not theirs
    for upload in uploads:
        assert await storage.abort_upload("cus_a", upload.id) is True
    assert temp_files(storage) == []
    await storage.open_upload(meta)


async def test_idle_uploads_are_discarded(storage: Storage) -> None:
    storage.uploads.idle_seconds = 0.0
    meta = OpenUpload(customer_id="cus_a", filename="f", purpose="batch")
    stale = await storage.open_upload(meta)
    await asyncio.sleep(0.01)
    await storage.open_upload(meta)
    assert await storage.abort_upload("cus_a", stale.id) is False
    assert len(temp_files(storage)) == 1


class _RemovedWhilePutting(LocalBlobs):
    """Its first placed blob vanishes at once, as when a delete of the content's last other file
    removes it between a put's placement and its commit."""

    raced = False

    async def place(self, source: Path, sha256: str) -> None:
        await super().place(source, sha256)
        if not self.raced:
            self.raced = True
            await self.remove(sha256)


async def test_a_blob_removed_before_the_put_commits_is_placed_again(storage: Storage) -> None:
    storage.blobs = _RemovedWhilePutting(storage.blobs.root)  # type: ignore[attr-defined]
    stored = await storage.put_file(put("cus_a", b"raced"))
    read = await storage.read_file("cus_a", stored.id)
    assert read is not None and read.content == b"raced"
    assert temp_files(storage) == []


async def test_ids_no_file_could_have_are_simply_absent(storage: Storage) -> None:
    """Sent by a peer over the internal routes: PostgreSQL refuses NUL, so no query is made."""
    stored = await storage.put_file(put("cus_a", b"x"))
    for bad in ("file-\x00", "x" * 65, "a\nb"):
        assert await storage.get_file("cus_a", bad) is None
        assert await storage.delete_file("cus_a", bad) is False
        assert (await storage.list_files("cus_a", after=bad)).data == []
        assert (await storage.list_files("cus_a", purpose=bad)).data == []
    assert await storage.get_file("cus_a", stored.id) == stored
