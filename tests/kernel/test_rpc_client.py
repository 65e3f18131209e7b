"""The calling side of the internal routes, against real HTTP servers on 127.0.0.1: redirects are
never followed, every call has a deadline, and a refusal that is not the module's own answer (a
wrong internal key) reaches clients as 503 `module_unavailable`, not as their 401."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from twelve.kernel.errors import UpstreamError
from twelve.kernel.http_client import HttpClient
from twelve.kernel.rpc import ModuleUnavailable, RpcClient, RpcDeadlines
from twelve.kernel.telemetry.logging import setup_logging, shutdown_logging

hits: dict[str, int] = {}


async def redirect(_request: web.Request) -> web.Response:
    raise web.HTTPTemporaryRedirect("/internal/demo/target")


async def target(_request: web.Request) -> web.Response:
    hits["target"] = hits.get("target", 0) + 1
    return web.json_response({"leaked": True})


async def slow(_request: web.Request) -> web.Response:
    await asyncio.sleep(30)
    return web.json_response({})


async def stalls(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"content-type": "application/x-ndjson"})
    await response.prepare(request)
    await response.write(b'{"n": 1}\n')
    await asyncio.sleep(30)
    return response


async def garbage(_request: web.Request) -> web.Response:
    return web.Response(body=b"{not json\n[1]\n", content_type="application/x-ndjson")


async def refuses(_request: web.Request) -> web.Response:
    # What a module answers when the key is wrong: its own 401, not an error of the port.
    body = {"error": {"message": "no", "type": "authentication_error", "param": None,
                      "code": "invalid_internal_key"}}  # fmt: skip
    return web.json_response(body, status=401)


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    app = web.Application()
    for handler in (redirect, target, slow, stalls, refuses, garbage):
        app.router.add_post(f"/internal/demo/{handler.__name__}", handler)
    async with TestServer(app, host="127.0.0.1") as running:
        yield running


def client(server: TestServer, http: HttpClient, **deadlines: float) -> RpcClient:
    base = str(server.make_url("/")).rstrip("/")
    return RpcClient("demo", base, "k" * 32, http, RpcDeadlines(**deadlines))


async def test_a_redirect_is_never_followed(server: TestServer, http: HttpClient) -> None:
    hits.clear()
    with pytest.raises(ModuleUnavailable):
        await client(server, http).call("redirect", {})
    assert hits == {}


async def test_a_call_has_a_deadline(server: TestServer, http: HttpClient) -> None:
    started = time.monotonic()
    with pytest.raises(UpstreamError) as raised:
        await client(server, http, call_timeout=0.5).call("slow", {})
    assert raised.value.status == 504 and "demo" in raised.value.message
    assert time.monotonic() - started < 10


async def test_a_stream_has_an_idle_deadline(server: TestServer, http: HttpClient) -> None:
    items = client(server, http, stream_idle_timeout=0.5).stream("stalls", {})
    assert await anext(items) == {"n": 1}
    started = time.monotonic()
    with pytest.raises(UpstreamError) as raised:
        await anext(items)
    assert raised.value.status == 504
    assert time.monotonic() - started < 10


def test_deadlines_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWELVE_INTERNAL_CALL_TIMEOUT", "12.5")
    monkeypatch.setenv("TWELVE_INTERNAL_STREAM_IDLE_TIMEOUT", "7")
    deadlines = RpcDeadlines()
    assert (deadlines.call_timeout, deadlines.stream_idle_timeout) == (12.5, 7)


async def test_a_refused_internal_key_is_503_for_clients_and_logged_once(
    server: TestServer, http: HttpClient, capsys: pytest.CaptureFixture[str]
) -> None:
    shutdown_logging()  # earlier tests' queued lines go to their own stream
    setup_logging("INFO")
    rpc = client(server, http)
    for _ in range(3):
        with pytest.raises(ModuleUnavailable) as raised:
            await rpc.call("refuses", {})
        assert raised.value.status == 503 and raised.value.code == "module_unavailable"
    with pytest.raises(ModuleUnavailable):
        await anext(rpc.stream("refuses", {}))
    shutdown_logging()  # the writer thread writes in batches: drain it first
    err = capsys.readouterr().err
    assert err.count("module_unavailable") == 1 and "TWELVE_INTERNAL_KEY" in err


async def test_a_malformed_answer_is_an_error_not_a_crash(
    server: TestServer, http: HttpClient
) -> None:
    rpc = client(server, http)
    with pytest.raises(ModuleUnavailable):
        await rpc.call("garbage", {})
    with pytest.raises(UpstreamError) as raised:
        await anext(rpc.stream("garbage", {}))
    assert "malformed" in raised.value.message
