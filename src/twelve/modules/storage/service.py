"""The storage service: files per customer, their content in content-addressed blobs.

Put: the blob is placed first, outside any transaction (an upload to S3 may take minutes and must
not hold the database's write lock), then the file row and a reference on the `blobs` row commit
together; if a delete of that content's last other file removed the blob meanwhile, it is placed
again after the commit. Delete: the row, the reference and, at zero, the blob go in one
transaction, which the `blobs` row serialises against a put's reference. So a committed file
always has its blob; a failed put can leave an unreferenced blob (the next put of that content
reuses it), never a file without one. Ids are random (`file-` + 24 hex digits), never reused;
a put with an idempotency key gets an id derived from the customer and the key, so a second put
under that key finds the first file (or, racing it, loses to it) and stores nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.kernel.text import has_control_characters
from twelve.modules.storage.adapters.tables import blobs, files
from twelve.modules.storage.api import (
    READ_CHUNK_BYTES,
    FileChunk,
    FileContent,
    FilePage,
    OpenUpload,
    PutFile,
    StoredFile,
    Upload,
    UploadChunk,
)
from twelve.modules.storage.blob_store import BlobStore
from twelve.modules.storage.uploads import Finished, Uploads, too_large

_MAX_ID = 64
_MAX_PURPOSE = 64


class Storage:
    def __init__(self, db: Database, blob_store: BlobStore, uploads: Uploads) -> None:
        self.db = db
        self.blobs = blob_store
        self.uploads = uploads

    async def put_file(self, command: PutFile) -> StoredFile:
        if len(command.content) > self.uploads.max_bytes:
            raise too_large(self.uploads.max_bytes)
        file_id = None
        if command.idempotency_key is not None:
            key = f"{command.customer_id}\0{command.idempotency_key}".encode()
            file_id = f"file-{hashlib.sha256(key).hexdigest()[:24]}"
            found = await self.get_file(command.customer_id, file_id)
            if found is not None:
                return found
        meta = OpenUpload(**command.model_dump(exclude={"content", "idempotency_key"}))
        upload_id = await self.uploads.open(meta)
        try:
            await self.uploads.append(meta.customer_id, upload_id, command.content)
        except BaseException:
            await self.uploads.abort(meta.customer_id, upload_id)
            raise
        finished = await self.uploads.finish(meta.customer_id, upload_id)
        try:
            return await self._store(finished, command.purpose, file_id)
        except IntegrityError:  # a put under the same key won the race: its file is the one
            found = None if file_id is None else await self.get_file(meta.customer_id, file_id)
            if found is None:
                raise
            return found

    async def get_file(self, customer_id: str, file_id: str) -> StoredFile | None:
        if not _usable(file_id):
            return None
        async with self.db.read() as conn:
            row = await _row(conn, customer_id, file_id)
        return None if row is None else _stored(row)

    async def read_file(self, customer_id: str, file_id: str) -> FileContent | None:
        stored = await self.get_file(customer_id, file_id)
        if stored is None:
            return None
        content = b"".join([c async for c in self.blobs.chunks(stored.sha256, READ_CHUNK_BYTES)])
        return FileContent.model_construct(file=stored, content=content)

    async def list_files(
        self,
        customer_id: str,
        purpose: str | None = None,
        limit: int = 100,
        after: str | None = None,
        order: Literal["asc", "desc"] = "desc",
    ) -> FilePage:
        limit = max(1, min(limit, 10_000))
        if purpose is not None and not _usable(purpose):
            return FilePage(data=[], has_more=False)
        query = select(files).where(files.c.customer_id == customer_id)
        if purpose is not None:
            query = query.where(files.c.purpose == purpose)
        async with self.db.read() as conn:
            if after is not None:
                cursor = await _row(conn, customer_id, after) if _usable(after) else None
                if cursor is None:
                    return FilePage(data=[], has_more=False)
                past = files.c.seq < cursor.seq if order == "desc" else files.c.seq > cursor.seq
                query = query.where(past)
            by = files.c.seq.desc() if order == "desc" else files.c.seq.asc()
            rows = (await conn.execute(query.order_by(by).limit(limit + 1))).all()
        return FilePage(data=[_stored(r) for r in rows[:limit]], has_more=len(rows) > limit)

    async def delete_file(self, customer_id: str, file_id: str) -> bool:
        if not _usable(file_id):
            return False
        async with self.db.write() as conn:
            row = await _row(conn, customer_id, file_id)
            if row is None:
                return False
            await conn.execute(delete(files).where(files.c.seq == row.seq))
            refs = (
                await conn.execute(
                    update(blobs)
                    .where(blobs.c.sha256 == row.sha256)
                    .values(refs=blobs.c.refs - 1)
                    .returning(blobs.c.refs)
                )
            ).scalar_one_or_none()
            if refs is not None and refs <= 0:
                await conn.execute(delete(blobs).where(blobs.c.sha256 == row.sha256))
                # Before the commit: a put counting a reference on this content waits on the
                # `blobs` row until then, and so sees the blob gone and places it again.
                await self.blobs.remove(row.sha256)
        return True

    async def open_upload(self, command: OpenUpload) -> Upload:
        upload_id = await self.uploads.open(command)
        return Upload(id=upload_id, max_bytes=self.uploads.max_bytes)

    async def append_upload(self, command: UploadChunk) -> int:
        return await self.uploads.append(command.customer_id, command.upload_id, command.data)

    async def finish_upload(
        self, customer_id: str, upload_id: str, purpose: str | None = None
    ) -> StoredFile:
        if purpose is not None and (
            not 0 < len(purpose) <= _MAX_PURPOSE or has_control_characters(purpose)
        ):
            await self.uploads.abort(customer_id, upload_id)
            raise InvalidRequest("Invalid value for 'purpose'.", param="purpose")
        finished = await self.uploads.finish(customer_id, upload_id)
        purpose = purpose or finished.meta.purpose
        if purpose is None:
            await asyncio.to_thread(finished.path.unlink, missing_ok=True)
            raise InvalidRequest("'purpose' is a required field.", param="purpose")
        return await self._store(finished, purpose)

    async def abort_upload(self, customer_id: str, upload_id: str) -> bool:
        return await self.uploads.abort(customer_id, upload_id)

    async def read_chunks(self, customer_id: str, file_id: str) -> AsyncIterator[FileChunk]:
        stored = await self.get_file(customer_id, file_id)
        if stored is None:
            raise file_not_found(file_id)
        async for chunk in self.blobs.chunks(stored.sha256, READ_CHUNK_BYTES):
            yield FileChunk.model_construct(data=chunk)

    async def _store(
        self, finished: Finished, purpose: str, file_id: str | None = None
    ) -> StoredFile:
        meta = finished.meta
        stored = StoredFile(
            id=file_id or f"file-{secrets.token_hex(12)}",
            customer_id=meta.customer_id,
            filename=meta.filename,
            purpose=purpose,
            bytes=finished.size,
            content_type=meta.content_type,
            sha256=finished.sha256,
            created_at=int(time.time()),
        )
        try:
            await self.blobs.place(finished.path, finished.sha256)
            async with self.db.write() as conn:
                await conn.execute(self._counted(finished))
                await conn.execute(insert(files).values(**stored.model_dump()))
            if not await self.blobs.exists(finished.sha256):
                await self.blobs.place(finished.path, finished.sha256)
        finally:
            await asyncio.to_thread(finished.path.unlink, missing_ok=True)
        return stored

    def _counted(self, finished: Finished) -> Any:
        """Insert the blob's row with one reference, or add one to it."""
        dialect: Any = sqlite if self.db.is_sqlite else postgresql
        statement = dialect.insert(blobs).values(
            sha256=finished.sha256, bytes=finished.size, refs=1
        )
        return statement.on_conflict_do_update(
            index_elements=[blobs.c.sha256], set_={"refs": blobs.c.refs + 1}
        )


def file_not_found(file_id: str) -> NotFound:
    return NotFound(
        f"No such File object: {file_id[:_MAX_ID]}", param="file_id", code="file_not_found"
    )


def _usable(file_id: str) -> bool:
    """Whether `file_id` could be an id at all (PostgreSQL refuses NUL: no query for it)."""
    return len(file_id) <= _MAX_ID and not has_control_characters(file_id)


async def _row(conn: AsyncConnection, customer_id: str, file_id: str) -> Any:
    query = select(files).where(files.c.id == file_id, files.c.customer_id == customer_id)
    return (await conn.execute(query)).one_or_none()


def _stored(row: Any) -> StoredFile:
    return StoredFile.model_validate(row, from_attributes=True)
