"""The public OpenAI Files API (`/v1/files`): the caller's key names the customer, the storage
module keeps the files. Thin, like `http.py`: authenticate, check the request, call the storage
port, shape the answer.

An upload is parsed as it arrives and handed to storage a chunk at a time (`upload_form.py`), so
no file is ever whole in memory; the edge bounds the body at the storage file limit (plus the
multipart framing) before any of this runs. A file of another customer is a 404, exactly like one
that does not exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.kernel.text import has_control_characters
from twelve.modules.gateway.http import PREFIX, bearer
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.upload_form import receive_upload
from twelve.modules.storage.api import (
    PUBLIC_PURPOSES,
    StorageService,
    StoredFile,
)

# Multipart framing and the `purpose` field around the file part.
FRAMING_BYTES = 64 * 1024
_MAX_ID = 64
_BINARY = {"type": "string", "format": "binary"}
_UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "purpose"],
                    "properties": {
                        "file": _BINARY,
                        "purpose": {"type": "string", "enum": list(PUBLIC_PURPOSES)},
                    },
                }
            }
        },
    }
}


def upload_body_limit(max_file_bytes: int) -> int:
    """The edge's body bound for `POST /v1/files`."""
    return max_file_bytes + FRAMING_BYTES


def build_files_router(gateway: Gateway, storage: StorageService) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["openai"])

    @router.post("/files", openapi_extra=_UPLOAD_SCHEMA, description="Upload a file.")
    async def create_file(request: Request) -> Response:
        caller = await gateway.authenticate(bearer(request))
        return _json(file_object(await receive_upload(request, storage, caller.customer_id)))

    @router.get("/files", description="The caller's files, newest first by default.")
    async def list_files(
        request: Request,
        purpose: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
        order: Literal["asc", "desc"] = "desc",
        after: Annotated[str | None, Query(max_length=_MAX_ID)] = None,
    ) -> Response:
        caller = await gateway.authenticate(bearer(request))
        for name, value in (("purpose", purpose), ("after", after)):
            if value is not None and has_control_characters(value):
                raise InvalidRequest(f"Invalid value for '{name}'.", param=name)
        page = await storage.list_files(caller.customer_id, purpose, limit, after, order)
        data = [file_object(f) for f in page.data]
        return _json(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": page.has_more,
            }
        )

    @router.get("/files/{file_id}")
    async def retrieve_file(file_id: str, request: Request) -> Response:
        caller = await gateway.authenticate(bearer(request))
        return _json(file_object(await _owned(storage, caller.customer_id, file_id)))

    @router.get(
        "/files/{file_id}/content",
        description="The file's bytes, streamed.",
        response_class=StreamingResponse,
        responses={200: {"content": {"application/octet-stream": {"schema": _BINARY}}}},
    )
    async def file_content(file_id: str, request: Request) -> Response:
        caller = await gateway.authenticate(bearer(request))
        stored = await _owned(storage, caller.customer_id, file_id)
        chunks = storage.read_chunks(caller.customer_id, stored.id)
        headers = {
            "content-length": str(stored.bytes),
            "content-disposition": f"attachment; filename*=UTF-8''{quote(stored.filename)}",
        }
        return StreamingResponse(_bytes(chunks), media_type=stored.content_type, headers=headers)

    @router.delete("/files/{file_id}")
    async def delete_file(file_id: str, request: Request) -> Response:
        caller = await gateway.authenticate(bearer(request))
        stored = await _owned(storage, caller.customer_id, file_id)
        if not await storage.delete_file(caller.customer_id, stored.id):
            raise _not_found(file_id)  # deleted by a concurrent request
        return _json({"id": stored.id, "object": "file", "deleted": True})

    return router


async def _owned(storage: StorageService, customer_id: str, file_id: str) -> StoredFile:
    if len(file_id) > _MAX_ID or has_control_characters(file_id):
        raise _not_found(file_id)
    stored = await storage.get_file(customer_id, file_id)
    if stored is None:
        raise _not_found(file_id)
    return stored


async def _bytes(chunks: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield chunk.data


def file_object(stored: StoredFile) -> dict[str, Any]:
    """A file as OpenAI shows it (`status` is deprecated there but the SDK still reads it)."""
    return {
        "id": stored.id,
        "object": "file",
        "bytes": stored.bytes,
        "created_at": stored.created_at,
        "filename": stored.filename,
        "purpose": stored.purpose,
        "status": "processed",
    }


def _not_found(file_id: str) -> NotFound:
    return NotFound(
        f"No such File object: {file_id[:_MAX_ID]!r}", param="file_id", code="file_not_found"
    )


def _json(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")
