"""Public surface of the storage module: files and results, per customer, content-addressed.

A file belongs to one customer; every read names that customer, and a file of another customer is
`None` (never "forbidden": its existence is not revealed). Content is stored once per distinct
SHA-256 (content-addressed), on the local disk by default or in an S3-compatible store; deleting a
file removes the customer's reference, the blob goes when nothing references it. Content crosses
this port base64-encoded in JSON (a remote call carries it as text); the public `/v1/files` routes
stream uploads and downloads without that cost.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import Base64Bytes, BaseModel, ConfigDict, Field

from twelve.kernel.commands import command
from twelve.kernel.text import PrintableStr

__all__ = [
    "FileContent",
    "FilePage",
    "PutFile",
    "StorageService",
    "StoredFile",
]


class StoredFile(BaseModel):
    """One stored file as the OpenAI Files API shows it, plus its owner and digest."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="`file-` followed by a random id.")
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


class FileContent(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: StoredFile
    content: Base64Bytes


class FilePage(BaseModel):
    model_config = ConfigDict(frozen=True)

    data: list[StoredFile]
    has_more: bool


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
    ) -> FilePage:
        """Newest first; `after` is the last file id of the previous page."""
        ...

    @command
    async def delete_file(self, customer_id: str, file_id: str) -> bool:
        """True when the file existed and is now gone; deleting twice is not an error."""
        ...
