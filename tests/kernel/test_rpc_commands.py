"""Commands and deadlines across the wire, through the generated client and server.

A real HTTP server on 127.0.0.1 (an aiohttp front that can drop a connection after the answer is
made) stands before the generated internal routes, so the client sees a genuinely broken
connection and retries; the serving side must answer the retry from its memory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Protocol

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from fastapi import FastAPI

from twelve.kernel.commands import command
from twelve.kernel.errors import UpstreamError
from twelve.kernel.http_client import HttpClient
from twelve.kernel.http_errors import install_error_handlers
from twelve.kernel.idempotency import Answer, IdempotencyMemory
from twelve.kernel.remote import client_for, endpoints_for
from twelve.kernel.rpc import ModuleUnavailable, RpcClient, internal_router
from twelve.kernel.rpc_wire import DEADLINE_HEADER, IDEMPOTENCY_HEADER, deadline_within

KEY = "k" * 32


class Counter(Protocol):
    @command
    async def add(self, amount: int) -> int: ...

    async def total(self) -> int: ...

    async def wait(self, seconds: float) -> float: ...


class InMemoryCounter:
    def __init__(self) -> None:
        self.value = 0
        self.runs = 0
        self.started = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()

    async def add(self, amount: int) -> int:
        self.runs += 1
        self.started.set()
        await self.gate.wait()
        self.value += amount
        return self.value

    async def total(self) -> int:
        return self.value

    async def wait(self, seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds


class Front:
    """A real HTTP server that passes calls to the internal routes, and drops a connection
    after the answer is made when told to (the answer is lost; the effect is not)."""

    def __init__(self, app: FastAPI) -> None:
        self.asgi = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        self.drop_next = 0
        self.seen: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(dict(request.headers))
        answer = await self.asgi.post(
            request.path, content=await request.read(), headers=dict(request.headers)
        )
        if self.drop_next:
            self.drop_next -= 1
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        return web.Response(
            body=answer.content, status=answer.status_code, content_type="application/json"
        )


@pytest.fixture
def counter() -> InMemoryCounter:
    return InMemoryCounter()


@pytest.fixture
async def front(counter: InMemoryCounter) -> AsyncIterator[tuple[Front, TestServer]]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(internal_router("demo", endpoints_for(Counter, counter), KEY))
    proxy = Front(app)
    server_app = web.Application()
    server_app.router.add_post("/internal/demo/{method}", proxy.handle)
    running = TestServer(server_app, host="127.0.0.1")
    await running.start_server()
    yield proxy, running
    await running.close()
    await proxy.asgi.aclose()


def remote(server: TestServer, http: HttpClient) -> Counter:
    rpc = RpcClient("demo", str(server.make_url("/")).rstrip("/"), KEY, http)
    client: Counter = client_for(Counter, rpc)
    return client


async def test_a_command_retried_after_a_lost_answer_runs_once(
    front: tuple[Front, TestServer], counter: InMemoryCounter, http: HttpClient
) -> None:
    proxy, server = front
    proxy.drop_next = 1
    assert await remote(server, http).add(5) == 5
    assert counter.runs == 1 and counter.value == 5
    first, retry = proxy.seen
    assert first[IDEMPOTENCY_HEADER] == retry[IDEMPOTENCY_HEADER]
    # A new command is a new key: it runs.
    assert await remote(server, http).add(1) == 6
    assert proxy.seen[2][IDEMPOTENCY_HEADER] != first[IDEMPOTENCY_HEADER]


async def test_a_query_carries_no_key_and_is_not_retried(
    front: tuple[Front, TestServer], http: HttpClient
) -> None:
    proxy, server = front
    proxy.drop_next = 1
    with pytest.raises(ModuleUnavailable):
        await remote(server, http).total()
    assert len(proxy.seen) == 1 and IDEMPOTENCY_HEADER not in proxy.seen[0]


async def test_concurrent_duplicates_wait_for_the_first(counter: InMemoryCounter) -> None:
    app = FastAPI()
    app.include_router(internal_router("demo", endpoints_for(Counter, counter), KEY))
    headers = {"x-twelve-internal-key": KEY, IDEMPOTENCY_HEADER: "same"}
    counter.gate.clear()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t/internal/demo"
    ) as client:
        calls = [
            asyncio.create_task(client.post("/add", json={"amount": 2}, headers=headers))
            for _ in range(3)
        ]
        await counter.started.wait()
        counter.gate.set()
        answers = await asyncio.gather(*calls)
    assert [a.json() for a in answers] == [2, 2, 2]
    assert counter.runs == 1


async def test_every_call_carries_the_callers_remaining_time(
    front: tuple[Front, TestServer], http: HttpClient
) -> None:
    proxy, server = front
    client = remote(server, http)
    await client.total()
    assert 0 < float(proxy.seen[0][DEADLINE_HEADER]) <= 600  # the configured call timeout
    with deadline_within(2.0):
        await client.total()
    assert 0 < float(proxy.seen[1][DEADLINE_HEADER]) <= 2.0


async def test_the_serving_side_keeps_the_deadline(
    front: tuple[Front, TestServer], http: HttpClient
) -> None:
    _, server = front
    started = time.monotonic()
    with deadline_within(0.3), pytest.raises(UpstreamError) as raised:
        await remote(server, http).wait(30)
    assert raised.value.status == 504
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "inf", "99999"])
async def test_a_malformed_deadline_is_a_400(counter: InMemoryCounter, value: str) -> None:
    app = FastAPI()
    app.include_router(internal_router("demo", endpoints_for(Counter, counter), KEY))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        response = await client.post(
            "http://t/internal/demo/total",
            json={},
            headers={"x-twelve-internal-key": KEY, DEADLINE_HEADER: value},
        )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == DEADLINE_HEADER


async def test_remembered_answers_are_bounded_and_expire() -> None:
    now = [0.0]
    memory = IdempotencyMemory(capacity=2, ttl_seconds=10, clock=lambda: now[0])
    runs: list[str] = []

    def run(name: str) -> Answer:
        runs.append(name)
        return Answer(200, name.encode())

    async def answer(key: str) -> bytes:
        async def once() -> Answer:
            return run(key)

        return (await memory.answer(key, once)).body

    assert [await answer("a"), await answer("a")] == [b"a", b"a"]
    await answer("b")
    await answer("c")  # evicts "a", the oldest
    assert len(memory) == 2
    await answer("a")
    now[0] = 11.0  # everything expires
    await answer("c")
    assert runs == ["a", "b", "c", "a", "c"]


async def test_a_call_that_fails_without_an_answer_is_forgotten() -> None:
    memory = IdempotencyMemory()

    async def crash() -> Answer:
        raise RuntimeError("crashed")

    async def ok() -> Answer:
        return Answer(200, b"1")

    with pytest.raises(RuntimeError):
        await memory.answer("k", crash)
    assert (await memory.answer("k", ok)).body == b"1"
