"""An operation's request body and answer as they cross the wire, as its descriptor says.

Bodies reach the port as JSON objects whatever the operation. A multipart operation's file
fields hold `FilePart`s (`file_part` in the models api): here they become file parts of a form,
every other field a form field (lists repeated as `name[]`, OpenAI's convention for
`timestamp_granularities[]`). An answer is parsed as JSON, or kept as bytes in a `BinaryAnswer`
(`binary_answer`) with the upstream's `x-twelve-*` headers, which carry usage (audio seconds,
characters) that a binary body cannot.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

import aiohttp
import orjson
from multidict import CIMultiDictProxy

from twelve.kernel.errors import InvalidRequest
from twelve.modules.models.api import JSONObject, Operation, binary_answer

_JSON_TYPES = ("application/json", "application/problem+json")


def encode_request(operation: Operation, body: JSONObject) -> bytes | aiohttp.FormData:
    if operation.request == "json":
        return orjson.dumps(body)
    form = aiohttp.FormData()
    for name, value in body.items():
        if value is None:
            continue
        if name in operation.files:
            data, filename, content_type = _file(name, value)
            form.add_field(name, data, filename=filename, content_type=content_type)
        elif isinstance(value, list):
            for item in value:
                form.add_field(f"{name}[]", _text(item))
        else:
            form.add_field(name, _text(value))
    return form


def is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in _JSON_TYPES or media.endswith("+json")


def answer_is_json(operation: Operation, content_type: str | None) -> bool:
    if operation.answer == "json":
        return True
    return operation.answer == "either" and is_json(content_type)


def binary(payload: bytes, headers: CIMultiDictProxy[str]) -> JSONObject:
    """Bytes as the port returns them, with the upstream's `x-twelve-*` headers."""
    content_type = headers.get("Content-Type") or "application/octet-stream"
    kept = {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-twelve-")}
    return binary_answer(payload, content_type, kept)


def _file(name: str, value: object) -> tuple[bytes, str, str]:
    if not isinstance(value, Mapping) or not isinstance(value.get("data"), str):
        raise InvalidRequest(f"'{name}' must be a file.", param=name)
    try:
        data = base64.b64decode(value["data"], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"'{name}' is not valid base64.", param=name) from None
    filename = value.get("filename")
    content_type = value.get("content_type")
    return (
        data,
        filename if isinstance(filename, str) and filename else name,
        content_type
        if isinstance(content_type, str) and content_type
        else "application/octet-stream",
    )


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()  # numbers, booleans (`true`), objects: as JSON
