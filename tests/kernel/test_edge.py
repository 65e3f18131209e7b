"""The edge middleware ends every failure once: a 500 with its request id and one log line, a
413 for any over-limit body, a 499 for a client that hangs up while sending its body."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request
from prometheus_client import REGISTRY
from pydantic import BaseModel
from starlette.requests import Request as PlainRequest
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from twelve.kernel.edge import EdgeMiddleware, _series
from twelve.kernel.http_errors import install_error_handlers
from twelve.kernel.json_body import read_json_object
from twelve.kernel.telemetry.logging import setup_logging, shutdown_logging
from twelve.kernel.telemetry.tracing import setup_tracing

LIMIT = 1024


class Named(BaseModel):
    name: str


def build() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail")

    @app.post("/typed")  # a body parsed by FastAPI, as on the admin routes
    async def typed(named: Named) -> Named:
        return named

    @app.post("/raw")  # a body read by the handler, as on the /v1 routes
    async def raw(request: Request) -> dict[str, Any]:
        return await read_json_object(request)

    app.add_middleware(
        EdgeMiddleware, max_body_bytes=LIMIT, direct={("POST", "/direct"): ("/direct", direct)}
    )
    return app


async def direct(scope: Scope, receive: Receive, send: Send) -> None:
    """A hot route as the gateway serves one: plain ASGI, called by the edge itself."""
    body = await read_json_object(PlainRequest(scope, receive))
    body["framework"] = "router" in scope  # set by the framework's routing
    await Response(orjson.dumps(body), media_type="application/json")(scope, receive, send)


def logged(err: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in err.splitlines() if line.startswith("{")]


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_500_carries_the_request_id_and_is_logged_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutdown_logging()  # earlier tests' queued lines go to their own stream
    setup_logging("INFO")
    setup_tracing()
    before = counted("twelve_errors_total", kind="server_error")
    transport = httpx.ASGITransport(app=build(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom", headers={"x-request-id": "req-boom-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-boom-1"
    assert response.json()["error"]["type"] == "server_error"
    assert "secret detail" not in response.text and "Traceback" not in response.text
    shutdown_logging()  # the writer thread writes in batches: drain it first
    lines = logged(capsys.readouterr().err)
    failures = [line for line in lines if line["event"] == "unhandled_error"]
    assert len(failures) == 1
    assert failures[0]["request_id"] == "req-boom-1" and failures[0]["trace_id"]
    assert "secret detail" in failures[0]["exception"]
    assert [line["status"] for line in lines if line["event"] == "request"] == [500]
    assert counted("twelve_errors_total", kind="server_error") == before + 1


async def call(path: str, chunks: list[Message]) -> list[Message]:
    """Drive the app as a server would: `chunks` are what the client sends, then silence."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    pending = list(chunks)
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await build()(scope, receive, send)
    return sent


@pytest.mark.parametrize("path", ["/typed", "/raw", "/direct"])
async def test_an_over_limit_chunked_body_is_413_on_every_route(path: str) -> None:
    # No Content-Length: the limit is found while reading, where FastAPI used to answer 400.
    piece = {"type": "http.request", "body": b" " * 600, "more_body": True}
    sent = await call(path, [piece, piece, piece])
    assert sent[0]["status"] == 413
    body = orjson.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("path", ["/typed", "/raw", "/direct"])
async def test_a_client_gone_while_sending_its_body_is_a_499_not_a_500(
    path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shutdown_logging()  # earlier tests' queued lines go to their own stream
    setup_logging("INFO")
    before = counted("twelve_errors_total", kind="client_disconnect")
    server_errors = counted("twelve_errors_total", kind="server_error")
    await call(path, [{"type": "http.request", "body": b'{"name": ', "more_body": True}])
    shutdown_logging()  # the writer thread writes in batches: drain it first
    lines = logged(capsys.readouterr().err)
    assert not [line for line in lines if line["event"] == "unhandled_error"]
    assert [line["status"] for line in lines if line["event"] == "request"] == [499]
    assert counted("twelve_errors_total", kind="client_disconnect") == before + 1
    assert counted("twelve_errors_total", kind="server_error") == server_errors
    assert counted("twelve_http_requests_total", route=path, method="POST", status="499") >= 1


async def test_a_direct_route_is_served_by_the_edge_with_its_ids_and_metrics() -> None:
    setup_tracing()
    before = counted("twelve_http_requests_total", route="/direct", method="POST", status="200")
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/direct", json={"a": 1}, headers={"x-request-id": "req-d"})
        other_method = await client.get("/direct")
    assert response.json() == {"a": 1, "framework": False}
    assert response.headers["x-request-id"] == "req-d"
    after = counted("twelve_http_requests_total", route="/direct", method="POST", status="200")
    assert after == before + 1
    # Only the listed method is direct: the rest is the framework's (here, no such route).
    assert other_method.status_code == 404
    assert other_method.json()["error"]["type"] == "invalid_request_error"


async def test_generated_request_ids_are_unique_and_shaped_like_openais() -> None:
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ids = {(await client.post("/direct", json={})).headers["x-request-id"] for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"req_[0-9a-f]{24}", i) for i in ids)


def test_metric_children_are_prepared_once_per_label_set() -> None:
    first = _series("/direct", "POST", 200)
    assert _series("/direct", "POST", 200) == first
    assert _series("/direct", "POST", 404)[0] is not first[0]
    assert _series("/direct", "POST", 404)[1] is first[1]  # latency is not by status
