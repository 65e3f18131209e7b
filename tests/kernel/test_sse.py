from __future__ import annotations

from collections.abc import AsyncIterator

from twelve.kernel.sse import ServerSentEvent, decode_events, encode_data


async def lines(*raw: bytes) -> AsyncIterator[bytes]:
    for line in raw:
        yield line


async def test_decodes_events_data_lines_and_comments() -> None:
    stream = lines(
        b": keep-alive\n",
        b"event: message_start\n",
        b'data: {"a":1}\n',
        b"\n",
        b"data: first\r\n",
        b"data:second\r\n",
        b"\r\n",
        b"data: [DONE]\n",
    )
    events = [e async for e in decode_events(stream)]
    assert events == [
        ServerSentEvent("message_start", '{"a":1}'),
        ServerSentEvent(None, "first\nsecond"),
        ServerSentEvent(None, "[DONE]"),
    ]


def test_encodes_one_data_event() -> None:
    assert encode_data(b'{"x":1}') == b'data: {"x":1}\n\n'


async def test_bytes_that_are_not_utf8_are_replaced_not_fatal() -> None:
    # An upstream's broken byte must not end the stream with an exception and no error event.
    events = [e async for e in decode_events(lines(b"data: caf\xe9 \xff\n", b"\n"))]
    assert events == [ServerSentEvent(None, "caf\ufffd \ufffd")]


async def test_a_stream_cut_anywhere_decodes_the_same() -> None:
    # As a socket delivers it: mid-line, mid-character, events in one read, no final newline.
    raw = 'event: e\ndata: {"a":"é"}\n\n: ping\ndata: x\r\ndata: y\r\n\r\ndata: [DONE]'.encode()
    expected = [
        ServerSentEvent("e", '{"a":"é"}'),
        ServerSentEvent(None, "x\ny"),
        ServerSentEvent(None, "[DONE]"),
    ]
    for size in (1, 2, 3, 7, 40, len(raw)):
        pieces = [raw[i : i + size] for i in range(0, len(raw), size)]
        assert [e async for e in decode_events(lines(*pieces))] == expected, size
