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


async def decode_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """Turn a byte stream, cut anywhere (as a socket delivers it), into events.

    Lines are split here rather than by a generator of lines in front: that was one more
    generator step per line, two or three per event."""
    event: str | None = None
    data: list[str] = []
    pending = bytearray()
    async for chunk in chunks:
        pending += chunk
        if b"\n" not in chunk:
            continue  # no line complete yet (the limit on the body bounds `pending`)
        *lines, rest = pending.split(b"\n")
        pending = bytearray(rest)
        for raw in lines:
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            if not line:
                if data:
                    yield ServerSentEvent(event, "\n".join(data))
                event, data = None, []
                continue
            event = _field(line, event, data)
    if pending:
        event = _field(pending.decode("utf-8", errors="replace").rstrip("\r"), event, data)
    if data:
        yield ServerSentEvent(event, "\n".join(data))


def _field(line: str, event: str | None, data: list[str]) -> str | None:
    """Read one non-blank line into `data`; return the event name it leaves in force."""
    if line.startswith(":"):
        return event
    field, _, value = line.partition(":")
    if value.startswith(" "):
        value = value[1:]
    if field == "data":
        data.append(value)
    elif field == "event":
        return value
    return event


def encode_data(payload: bytes) -> bytes:
    """One `data:` event carrying a JSON payload (which never contains a raw newline)."""
    return b"data: " + payload + b"\n\n"
