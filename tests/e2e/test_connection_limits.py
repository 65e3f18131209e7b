"""What a connection may do before any key is checked: bounded headers, and no slow or silent
connection kept open past its timeout (raw sockets against a real `twelve serve`)."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.e2e.server import TwelveServer

TIMEOUT = 1  # seconds, for the server under test: short, so the test is quick
# Generous: the machine is shared with other test runs, and only "closed at all" matters.
CLOSE_WITHIN = 20.0


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwelveServer]:
    root = tmp_path_factory.mktemp("strict")
    env = {
        "TWELVE_DATA_DIR": str(root / "data"),
        "TWELVE_MAX_HEADER_BYTES": str(16 * 1024),
        "TWELVE_HEADER_TIMEOUT_SECONDS": str(TIMEOUT),
        "TWELVE_BODY_TIMEOUT_SECONDS": str(TIMEOUT),
        "TWELVE_KEEPALIVE_TIMEOUT_SECONDS": str(TIMEOUT),
    }
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    yield server
    server.stop()


def connect(server: TwelveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=CLOSE_WITHIN)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a timeout here fails the test)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def status_and_error(reply: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, orjson.loads(body)["error"]


def request_head(extra: bytes = b"", path: bytes = b"/healthz") -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: t\r\n" + extra


def test_headers_over_the_limit_get_431_even_for_healthz(strict: TwelveServer) -> None:
    with connect(strict) as sock:
        sock.sendall(request_head(b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n"))
        status, error = status_and_error(read_all(sock))
    assert status == 431
    assert error["code"] == "request_header_fields_too_large"
    assert refused_counts(strict)["request_header_fields_too_large"] >= 1


def test_many_small_headers_count_too(strict: TwelveServer) -> None:
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 90) for i in range(400))
    with connect(strict) as sock:
        sock.sendall(request_head(many + b"\r\n"))
        status, _ = status_and_error(read_all(sock))
    assert status == 431


def test_headers_under_the_limit_are_served(strict: TwelveServer) -> None:
    with connect(strict) as sock:
        sock.sendall(request_head(b"X-Fine: " + b"a" * 8_000 + b"\r\nConnection: close\r\n\r\n"))
        reply = read_all(sock)
    assert reply.startswith(b"HTTP/1.1 200")


def test_a_huge_header_is_not_read(strict: TwelveServer) -> None:
    """A 100 MiB header: the server stops reading and closes long before it is all sent."""
    sent = 0
    chunk = b"a" * 65536
    with connect(strict) as sock:
        sock.sendall(request_head(b"X-Huge: "))
        try:
            while sent < 100 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:  # reset or broken pipe: the server closed the connection
            pass
    assert sent < 32 * 1024 * 1024  # what the kernel's buffers absorb, not what was read


def test_silent_and_slow_connections_are_all_closed(strict: TwelveServer) -> None:
    silent = [connect(strict) for _ in range(30)]
    slow_head = [connect(strict) for _ in range(15)]
    slow_body = [connect(strict) for _ in range(15)]
    idle = [connect(strict) for _ in range(10)]
    for sock in slow_head:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
    for sock in slow_body:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n{"
        )
    for sock in idle:
        sock.sendall(request_head(b"\r\n"))
    started = time.monotonic()
    replies = {name: [read_all(s) for s in group] for name, group in [
        ("silent", silent), ("slow_head", slow_head), ("slow_body", slow_body), ("idle", idle)
    ]}  # fmt: skip
    elapsed = time.monotonic() - started
    for group in (silent, slow_head, slow_body, idle):
        for sock in group:
            sock.close()
    assert elapsed < CLOSE_WITHIN
    for reply in replies["silent"] + replies["slow_head"]:
        status, error = status_and_error(reply)
        assert (status, error["code"]) == (408, "request_timeout")
    # The app may answer before it reads the body (no key: 401); either way the stalled
    # connection is closed, which read_all returning proves.
    assert all(r == b"" or r.startswith(b"HTTP/1.1 ") for r in replies["slow_body"])
    for reply in replies["idle"]:  # one answered request, then closed when idle
        assert reply.startswith(b"HTTP/1.1 200")
        assert reply.count(b"HTTP/1.1") == 1
    refused = refused_counts(strict)
    assert refused.get("request_timeout", 0) >= len(silent) + len(slow_head)


def refused_counts(server: TwelveServer) -> dict[str, float]:
    """`twelve_connections_refused_total` by reason, from the server's /metrics."""
    text = httpx.get(f"{server.base_url}/metrics").text
    pattern = r'^twelve_connections_refused_total\{reason="([a-z_]+)"\} ([0-9.e+]+)$'
    return {m[1]: float(m[2]) for m in re.finditer(pattern, text, re.MULTILINE)}
