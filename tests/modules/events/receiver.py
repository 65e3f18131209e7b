"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records what it is sent and
answers with the statuses it is told to (then 200), or hangs, or redirects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    url: str = ""
    statuses: list[int] = field(default_factory=list)
    hang: bool = False
    redirect_to: str | None = None
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        self.received.append(Received(dict(request.headers), body))
        self.arrived.set()
        if self.hang:
            await asyncio.sleep(3600)
        if self.redirect_to is not None:
            raise web.HTTPFound(self.redirect_to)
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok")

    async def wait_for(self, count: int, seconds: float = 10.0) -> None:
        async def enough() -> None:
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), seconds)


@asynccontextmanager
async def receiver(path: str = "/hook") -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post(path, found.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    found.url = f"http://127.0.0.1:{port}{path}"
    try:
        yield found
    finally:
        await runner.cleanup()
