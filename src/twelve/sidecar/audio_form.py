"""Reading a transcription request: OpenAI's multipart form (`file`, `model`, `language`, `prompt`,
`response_format`, `temperature`), bounded before anything is decoded.

The body is counted as it streams in, so an upload without Content-Length (chunked) is cut off at
the same limit as one with it; the file spools to disk past 1 MB rather than into memory; one file
and a few short fields are allowed; the whole upload must arrive within a time limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import IO

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from twelve.sidecar.refused import Refused

FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
MAX_FIELDS = 16
MAX_FIELD_BYTES = 64 * 1024
MAX_PROMPT_CHARS = 2000  # Whisper reads at most 224 prompt tokens; this is well past that


@dataclass(frozen=True)
class TranscriptionForm:
    file: IO[bytes]
    model: str
    prompt: str | None
    response_format: str
    temperature: float


async def read_form(request: Request, *, max_bytes: int, seconds: float) -> FormData:
    """The parsed multipart body; the caller closes it (its files) when done."""
    kind = request.headers.get("content-type", "")
    if not kind.lower().startswith("multipart/form-data"):
        raise Refused(415, "Send the audio as multipart/form-data, as OpenAI's API takes it.")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise Refused(413, f"The upload is over {max_bytes} bytes.", param="file")
    parser = MultiPartParser(
        request.headers,
        _bounded(request.stream(), max_bytes),
        max_files=1,
        max_fields=MAX_FIELDS,
        max_part_size=MAX_FIELD_BYTES,
    )
    try:
        async with asyncio.timeout(seconds):
            return await parser.parse()
    except MultiPartException as exc:
        raise Refused(400, f"Invalid multipart form: {exc.message}") from None
    except TimeoutError:
        raise Refused(408, f"The upload did not arrive within {seconds:g} s.") from None


def transcription_form(form: FormData) -> TranscriptionForm:
    """The fields of a transcription request, checked."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Refused(400, "Attach the audio as the form's `file` part.", param="file")
    if upload.size == 0:
        raise Refused(400, "The audio file is empty.", param="file")
    model = _text(form, "model")
    if not model:
        raise Refused(400, "`model` is required.", param="model")
    language = (_text(form, "language") or "en").lower()
    if language not in ("en", "english"):
        raise Refused(400, "local-stt (Whisper tiny.en) transcribes English only.",
                      param="language")  # fmt: skip
    prompt = _text(form, "prompt")
    if prompt is not None and len(prompt) > MAX_PROMPT_CHARS:
        raise Refused(400, f"`prompt` is over {MAX_PROMPT_CHARS} characters.", param="prompt")
    response_format = _text(form, "response_format") or "json"
    if response_format not in FORMATS:
        raise Refused(400, f"`response_format` must be one of {', '.join(FORMATS)}.",
                      param="response_format")  # fmt: skip
    return TranscriptionForm(
        file=upload.file,
        model=model,
        prompt=prompt,
        response_format=response_format,
        temperature=_temperature(_text(form, "temperature")),
    )


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if isinstance(value, UploadFile):
        raise Refused(400, f"`{name}` must be a plain form field, not a file.", param=name)
    return value.strip() if value is not None else None


def _temperature(raw: str | None) -> float:
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise Refused(400, "`temperature` must be a number from 0 to 1.", param="temperature")
    return value


async def _bounded(stream: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            raise Refused(413, f"The upload is over {limit} bytes.", param="file")
        yield chunk
