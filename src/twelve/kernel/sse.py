"""Server-sent events: decode an upstream event stream, encode our own.

Decoding follows the WHATWG event-stream rules that matter for model APIs: `event:` and `data:`
fields, several `data:` lines joined by newlines, an event ending at a blank line, comments
(lines starting with `:`) ignored, and bytes that are not UTF-8 replaced by U+FFFD (as the
standard says) rather than failing the stream mid-way.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str | None
    data: str


async def decode_events(lines: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """Turn a stream of raw lines (each ending in a newline, as aiohttp yields them) into events."""
    event: str | None = None
    data: list[str] = []
    async for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if data:
                yield ServerSentEvent(event, "\n".join(data))
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value
    if data:
        yield ServerSentEvent(event, "\n".join(data))


def encode_data(payload: bytes) -> bytes:
    """One `data:` event carrying a JSON payload (which never contains a raw newline)."""
    return b"data: " + payload + b"\n\n"
