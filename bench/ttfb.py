"""Time to first byte of a streamed chat completion at concurrency 1.

wrk measures whole responses, so this one case uses a raw HTTP/1.1 client on one keep-alive
socket: the request goes out in one write, and the clock runs until the first byte of the body
(the first SSE event) has arrived. The client's own cost is the same for every target, so the
differences between targets are the targets'. Every target streams with chunked encoding, so a
response ends at the zero-length chunk.
"""

from __future__ import annotations

import json
import socket
import time

from bench.procs import BenchError

_END = b"\r\n0\r\n\r\n"


def _request(port: int, path: str, key: str, model: str) -> bytes:
    body = json.dumps(
        {
            "model": model,
            "messages": [
                {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
                {"role": "user", "content": "Explain in two sentences what an AI gateway does."},
            ],
            "max_tokens": 64,
            "stream": True,
        }
    ).encode()
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if key:
        head.append(f"Authorization: Bearer {key}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _one(sock: socket.socket, request: bytes) -> float:
    started = time.perf_counter()
    sock.sendall(request)
    received, first = b"", None
    while not received.endswith(_END):
        chunk = sock.recv(65536)
        if not chunk:
            raise BenchError(f"TTFB: the connection closed mid-response: {received[-300:]!r}")
        received += chunk
        if first is None and b"\r\n\r\n" in received:
            head, _, body = received.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise BenchError(f"TTFB stream → {received[:300]!r}")
            if body:
                first = time.perf_counter() - started
    if first is None or b"[DONE]" not in received:
        raise BenchError(f"TTFB: not a complete stream: {received[-300:]!r}")
    return first * 1000


def measure(
    port: int, path: str, *, key: str, model: str, requests: int, seconds: int
) -> list[float]:
    """TTFB samples in milliseconds: up to `requests` sequential streams, or `seconds` of them."""
    request = _request(port, path, key, model)
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while len(samples) < requests and time.perf_counter() < deadline:
            samples.append(_one(sock, request))
    return samples
