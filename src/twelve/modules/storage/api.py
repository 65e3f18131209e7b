"""Public surface of the storage module: files and results, per customer, content-addressed.

A file belongs to one customer; every read names that customer, and a file of another customer is
`None` (never "forbidden": its existence is not revealed). Content is stored once per distinct
SHA-256 (content-addressed), on the local disk by default or in an S3-compatible store; deleting a
file removes the customer's reference, the blob goes when nothing references it. Content crosses
this port base64-encoded in JSON (a remote call carries it as text). Large content never crosses
whole: an upload is opened, fed in chunks and finished (`open_upload`, `append_upload`,
`finish_upload`), and a download is a stream of chunks (`read_chunks`), so the public `/v1/files`
routes hold at most one chunk in memory in either topology.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol

from pydantic import Base64Bytes, BaseModel, ConfigDict, Field

from twelve.kernel.commands import command
from twelve.kernel.text import PrintableStr

__all__ = [
    "CHUNK_BYTES",
    "PUBLIC_PURPOSES",
    "READ_CHUNK_BYTES",
    "FileChunk",
    "FileContent",
    "FilePage",
    "OpenUpload",
    "PutFile",
    "StorageService",
    "StoredFile",
    "Upload",
    "UploadChunk",
]

# The purposes a client may give `POST /v1/files` (OpenAI's); others are Twelve's own.
PUBLIC_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
# The largest chunk `append_upload` takes (the storage module bounds its internal route to fit).
CHUNK_BYTES = 1024 * 1024
# The chunks `read_chunks` yields: a remote stream is NDJSON, one line per chunk, and the client
# reads lines of at most 128 KiB (aiohttp's buffer), so a base64 chunk must stay below that.
READ_CHUNK_BYTES = 64 * 1024


class StoredFile(BaseModel):
    """One stored file as the OpenAI Files API shows it, plus its owner and digest."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(
        description="`file-` followed by a random id (or one derived from an idempotency key)."
    )
    customer_id: str
    filename: str
    purpose: str
    bytes: int = Field(ge=0)
    content_type: str
    sha256: str
    created_at: int = Field(description="Unix seconds.")


class PutFile(BaseModel):
    """Store `content` for `customer_id`; `purpose` as OpenAI names it (`assistants`, `batch`,
    `user_data`, …) or Twelve's own (`job_result`, `workflow_result`)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: PrintableStr = Field(min_length=1, max_length=200)
    filename: PrintableStr = Field(min_length=1, max_length=255)
    purpose: PrintableStr = Field(min_length=1, max_length=64)
    content_type: PrintableStr = Field(default="application/octet-stream", max_length=255)
    content: Base64Bytes
    # Storing again under the same key (for the same customer) returns the file stored first: a
    # job's result stored by a step that a crash made run twice is one file, not two.
    idempotency_key: PrintableStr | None = Field(default=None, min_length=1, max_length=200)


class FileContent(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: StoredFile
    content: Base64Bytes


class FilePage(BaseModel):
    model_config = ConfigDict(frozen=True)

    data: list[StoredFile]
    has_more: bool


class OpenUpload(BaseModel):
    """Open an upload: the file's owner and description; its content follows in chunks. The
    purpose may come only with `finish_upload` (a form may send it after the file)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: PrintableStr = Field(min_length=1, max_length=200)
    filename: PrintableStr = Field(min_length=1, max_length=255)
    purpose: PrintableStr | None = Field(default=None, min_length=1, max_length=64)
    content_type: PrintableStr = Field(default="application/octet-stream", max_length=255)


class Upload(BaseModel):
    """An open upload: feed it with `append_upload`, then `finish_upload` or `abort_upload`."""

    model_config = ConfigDict(frozen=True)

    id: str
    max_bytes: int = Field(description="The largest file the upload may become.")


class UploadChunk(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: PrintableStr = Field(min_length=1, max_length=200)
    upload_id: PrintableStr = Field(min_length=1, max_length=100)
    # The bound applies to the base64 text, before decoding.
    data: Base64Bytes = Field(max_length=(CHUNK_BYTES + 2) // 3 * 4)


class FileChunk(BaseModel):
    model_config = ConfigDict(frozen=True)

    data: Base64Bytes


class StorageService(Protocol):
    @command
    async def put_file(self, command: PutFile) -> StoredFile:
        """Store a file; `InvalidRequest` (413 `file_too_large`) past the configured size."""
        ...

    async def get_file(self, customer_id: str, file_id: str) -> StoredFile | None: ...

    async def read_file(self, customer_id: str, file_id: str) -> FileContent | None: ...

    async def list_files(
        self,
        customer_id: str,
        purpose: str | None = None,
        limit: int = 100,
        after: str | None = None,
        order: Literal["asc", "desc"] = "desc",
    ) -> FilePage:
        """Newest first (`desc`) or oldest first; `after` is the last file id of the previous
        page (an id this customer does not own is an empty page)."""
        ...

    @command
    async def delete_file(self, customer_id: str, file_id: str) -> bool:
        """True when the file existed and is now gone; deleting twice is not an error."""
        ...

    @command
    async def open_upload(self, command: OpenUpload) -> Upload:
        """Start a file whose content arrives in chunks; `RateLimited` (429) when too many
        uploads are open at once."""
        ...

    @command
    async def append_upload(self, command: UploadChunk) -> int:
        """Add a chunk; the upload's size so far. Past the size bound the upload is discarded and
        this raises 413 `file_too_large`; an unknown upload is a 404."""
        ...

    @command
    async def finish_upload(
        self, customer_id: str, upload_id: str, purpose: str | None = None
    ) -> StoredFile:
        """Store what was appended as a file (content-addressed) and close the upload; `purpose`
        replaces the one given at opening (one of them is required: else a 400)."""
        ...

    @command
    async def abort_upload(self, customer_id: str, upload_id: str) -> bool:
        """Discard an open upload; False when there was none (already finished or expired)."""
        ...

    def read_chunks(self, customer_id: str, file_id: str) -> AsyncIterator[FileChunk]:
        """The file's content in chunks of at most `READ_CHUNK_BYTES`; a 404 when the customer
        has no such file."""
        ...
