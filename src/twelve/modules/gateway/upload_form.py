"""The body of `POST /v1/files`, read as it arrives: a multipart form with one file part and a
`purpose` field, the file's bytes handed to the storage port a chunk at a time.

No file is ever whole in memory or spooled anywhere else: the parser (python-multipart, fed each
network chunk) calls back with the file's bytes, which wait in a buffer until a storage chunk
(`CHUNK_BYTES`) is full. The upload is opened when the file part's headers are read, so the parts
may come in any order (a `purpose` after the file is given to `finish_upload`). Everything a
client controls is bounded: one file part, at most 8 other fields of at most 64 KiB each, 8
headers per part; the body itself is bounded by the edge. On any failure the upload is aborted,
so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from twelve.kernel.errors import InvalidRequest
from twelve.kernel.text import has_control_characters
from twelve.modules.storage.api import (
    CHUNK_BYTES,
    PUBLIC_PURPOSES,
    OpenUpload,
    StorageService,
    StoredFile,
    UploadChunk,
)

FIELD_BYTES = 64 * 1024
MAX_FIELDS = 8


@dataclass
class FormParts:
    """What the parser's callbacks saw (they are synchronous; the reading loop does the I/O)."""

    header_name: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[bytes, bytes] = field(default_factory=dict)
    part: str | None = None  # the current part's name
    in_file: bool = False
    file_name: str | None = None
    file_type: str | None = None
    file_seen: bool = False
    file_done: bool = False
    value: bytearray = field(default_factory=bytearray)
    fields: dict[str, str] = field(default_factory=dict)
    # Fields sent once per item (`timestamp_granularities[]`), by name without the brackets.
    lists: dict[str, list[str]] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda b, s, e: self.header_name.extend(b[s:e]),
            "on_header_value": lambda b, s, e: self.header_value.extend(b[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self.headers.clear()
        self.value.clear()

    def _header_end(self) -> None:
        self.headers[bytes(self.header_name).lower()] = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("latin-1")
        filename = options.get(b"filename")
        self.part, self.in_file = name, False
        if name == "file":
            if filename is None:
                raise InvalidRequest("'file' must be a file part.", param="file")
            if self.file_seen:
                raise InvalidRequest("Send one file per request.", param="file")
            self.file_seen = self.in_file = True
            self.file_name = _filename(filename.decode("utf-8", "replace"))
            self.file_type = _media_type(self.headers.get(b"content-type"))
        elif filename is not None:
            raise InvalidRequest(f"Only 'file' may be a file part, not '{name[:40]}'.")
        elif len(self.fields) >= MAX_FIELDS:
            raise InvalidRequest(f"At most {MAX_FIELDS} form fields besides the file.")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.data.extend(data[start:end])
            return
        self.value.extend(data[start:end])
        if len(self.value) > FIELD_BYTES:
            raise InvalidRequest(f"Form field '{(self.part or '')[:40]}' is too large.")

    def _part_end(self) -> None:
        if self.in_file:
            self.file_done, self.in_file = True, False
        elif self.part is not None and self.part.endswith("[]"):
            items = self.lists.setdefault(self.part[:-2], [])
            if len(items) >= MAX_FIELDS:
                raise InvalidRequest(f"At most {MAX_FIELDS} values of '{self.part[:40]}'.")
            items.append(self.value.decode("utf-8", "replace"))
        elif self.part is not None:
            self.fields[self.part] = self.value.decode("utf-8", "replace")


def form_parser(request: Request, form: FormParts) -> MultipartParser:
    """A parser of the request's multipart body that calls `form` back, or a 400 for a body
    that does not say it is multipart (with a boundary)."""
    media, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise InvalidRequest("The request body must be multipart/form-data.")
    return MultipartParser(boundary, form.callbacks())  # type: ignore[arg-type]


async def receive_upload(request: Request, storage: StorageService, customer_id: str) -> StoredFile:
    form = FormParts()
    parser = form_parser(request, form)
    upload_id: str | None = None
    try:
        async for chunk in request.stream():
            _feed(parser, chunk)
            purpose = form.fields.get("purpose")
            if purpose is not None:
                _check_purpose(purpose)
            if upload_id is None and form.file_seen:
                upload_id = await _open(storage, customer_id, form, purpose)
            if upload_id is not None:
                await _flush(storage, customer_id, upload_id, form)
        try:
            parser.finalize()
        except MultipartParseError:
            raise _malformed() from None
        if upload_id is None or not form.file_done:
            raise InvalidRequest("'file' is a required file field.", param="file")
        purpose = form.fields.get("purpose")
        if purpose is None:
            raise InvalidRequest("'purpose' is a required field.", param="purpose")
        _check_purpose(purpose)
        await _flush(storage, customer_id, upload_id, form)
        return await storage.finish_upload(customer_id, upload_id, purpose)
    except BaseException:
        if upload_id is not None:  # shielded: a client hanging up must not leave the temp file
            await asyncio.shield(storage.abort_upload(customer_id, upload_id))
        raise


def _feed(parser: MultipartParser, chunk: bytes) -> None:
    try:
        parser.write(chunk)
    except MultipartParseError:
        raise _malformed() from None


async def _open(
    storage: StorageService, customer_id: str, form: FormParts, purpose: str | None
) -> str:
    meta = OpenUpload(
        customer_id=customer_id,
        filename=form.file_name or "upload",
        purpose=purpose,
        content_type=form.file_type or "application/octet-stream",
    )
    return (await storage.open_upload(meta)).id


async def _flush(
    storage: StorageService, customer_id: str, upload_id: str, form: FormParts
) -> None:
    """Send the buffered file bytes in full chunks (all of them once the file part ended)."""
    while len(form.data) >= CHUNK_BYTES or (form.file_done and form.data):
        piece = bytes(form.data[:CHUNK_BYTES])
        del form.data[:CHUNK_BYTES]
        data = base64.b64encode(piece)
        await storage.append_upload(
            UploadChunk(customer_id=customer_id, upload_id=upload_id, data=data)
        )


def _check_purpose(purpose: str) -> None:
    if purpose not in PUBLIC_PURPOSES:
        raise InvalidRequest(
            f"Invalid value for 'purpose': use one of {', '.join(PUBLIC_PURPOSES)}.",
            param="purpose",
        )


def _filename(name: str) -> str:
    if not name:
        return "upload"
    if len(name) > 255 or has_control_characters(name):
        raise InvalidRequest("Invalid file name: at most 255 printable characters.", param="file")
    return name


def _media_type(value: bytes | None) -> str:
    text = (value or b"").decode("latin-1")
    if not text or len(text) > 255 or has_control_characters(text):
        return "application/octet-stream"
    return text


def _malformed() -> InvalidRequest:
    return InvalidRequest("The multipart body is malformed.")
