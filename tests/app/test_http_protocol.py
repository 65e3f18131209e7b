"""The limited HTTP protocol under an app that reads its body: a stalled body is a 408, a body
that keeps coming is served, and a refused request never reaches the app."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from twelve.app.http_protocol import Limits, protocol_class

BODY_TIMEOUT = 2.0
seen_by_app: list[str] = []


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    seen_by_app.append(scope["path"])
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    limits = Limits(max_header_bytes=4096, header_timeout=5.0, body_timeout=BODY_TIMEOUT)
    config = uvicorn.Config(
        echo, http=protocol_class(limits), lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server._serve([sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    yield sock.getsockname()[1]
    server.should_exit = True
    await task
    sock.close()


async def exchange(port: int, *parts: bytes, gap: float = 0.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(gap)
        return await asyncio.wait_for(reader.read(), timeout=20)
    finally:
        writer.close()


BODY = b"abcdefghijkl"
HEAD = b"POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 12\r\n\r\n"


async def test_a_stalled_body_is_408(port: int) -> None:
    reply = await exchange(port, HEAD + b"abc")
    assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b'"code":"request_body_timeout"' in reply


async def test_a_body_that_keeps_coming_is_served(port: int) -> None:
    # Each gap is far shorter than the timeout (slack for a loaded machine), the whole body
    # takes longer than it: only the gaps count.
    parts = [HEAD, *(bytes([c]) for c in BODY)]
    reply = await exchange(port, *parts, gap=BODY_TIMEOUT / 8)
    assert reply.startswith(b"HTTP/1.1 200")
    assert b"\r\n" + BODY + b"\r\n" in reply


async def test_oversized_headers_never_reach_the_app(port: int) -> None:
    seen_by_app.clear()
    reply = await exchange(port, b"GET /big HTTP/1.1\r\nX: " + b"a" * 5000 + b"\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 431")
    assert seen_by_app == []


async def test_malformed_http_is_an_openai_shaped_400(port: int) -> None:
    reply = await exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")
    assert b'{"error":{"message":"The request is not valid HTTP."' in reply
