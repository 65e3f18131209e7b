"""The fake's audio and image endpoints, in OpenAI's shapes: `POST /v1/audio/transcriptions`
(a multipart upload), `POST /v1/audio/speech` (answers WAV bytes) and
`POST /v1/images/generations` (a real PNG per image, as `b64_json` or a `url`).

The transcription "hears" the upload's size and name (`heard <n> bytes of <filename>`) and bills
one second per 32,000 bytes (16 kHz, 16-bit mono); speech is a quarter second of silence per
word. The upstream model id picks a behaviour as everywhere else (`fail-<status>`, `slow-<ms>`).
"""

from __future__ import annotations

import asyncio
import base64
import io
import math
import struct
import wave
import zlib
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.upstream_behaviour import behaviour_for, words
from tests.fakes.upstream_exchange import STATE, RecordedRequest, gate, json_response
from tests.fakes.upstream_openai_dialect import DIALECT, error

WAV_RATE = 16_000


def wav(seconds: float) -> bytes:
    """A mono 16-bit WAV of silence lasting `seconds`."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(WAV_RATE)
        writer.writeframes(b"\0\0" * int(seconds * WAV_RATE))
    return out.getvalue()


def png(width: int = 2, height: int = 2) -> bytes:
    """A real (grey) PNG of `width` x `height` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def transcriptions(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    fields: dict[str, Any] = {}
    upload: tuple[str, int] | None = None
    if request.content_type != "multipart/form-data":
        return error(400, "Expected a multipart/form-data body.")
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.filename is not None:
            upload = (part.filename, len(await part.read()))
        else:
            fields[part.name] = await part.text()
    if state.record:
        headers = {name.lower(): value for name, value in request.headers.items()}
        recorded = (
            {**fields, "file": {"filename": upload[0], "bytes": upload[1]}} if upload else fields
        )
        state.requests.append(RecordedRequest(request.method, request.path, headers, recorded))
    if state.api_key is not None and not DIALECT.authorized(request, state.api_key):
        return error(401, None)
    if upload is None or not fields.get("model"):
        return error(400, "Missing required parameters: 'file' and 'model'.")
    behaviour = behaviour_for(fields["model"])
    if behaviour.kind == "fail":
        return error(behaviour.number, None)
    if behaviour.kind == "slow":
        await asyncio.sleep(behaviour.number / 1000)
    name, size = upload
    text = f"heard {size} bytes of {name}"
    seconds = max(1, math.ceil((size - 44) / (2 * WAV_RATE)))  # a WAV header is 44 bytes
    if fields.get("response_format") == "text":
        return web.Response(text=text + "\n", content_type="text/plain")
    return json_response({"text": text, "usage": {"type": "duration", "seconds": seconds}})


async def speech(request: web.Request) -> web.StreamResponse:
    gated = await gate(request, DIALECT)
    if isinstance(gated, web.StreamResponse):
        return gated
    body, _ = gated
    text = body.get("input")
    if not isinstance(text, str) or not text:
        return error(400, "Missing required parameter: 'input'.")
    return web.Response(body=wav(0.25 * words(text)), content_type="audio/wav")


async def image_generations(request: web.Request) -> web.StreamResponse:
    gated = await gate(request, DIALECT)
    if isinstance(gated, web.StreamResponse):
        return gated
    body, _ = gated
    if not body.get("prompt"):
        return error(400, "Missing required parameter: 'prompt'.")
    count = body.get("n") or 1
    picture = png()
    if body.get("response_format") == "url":
        item = {"url": "https://images.example.invalid/fake.png"}
    else:
        item = {"b64_json": base64.b64encode(picture).decode()}
    data = [{**item, "revised_prompt": body["prompt"]} for _ in range(count)]
    return json_response({"created": 1_700_000_000, "data": data})
