"""An in-process sidecar for tests: the real app with its lifespan, spoken to over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from twelve.sidecar.app import create_app
from twelve.sidecar.settings import SidecarSettings


@asynccontextmanager
async def sidecar_client(settings: SidecarSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://sidecar", timeout=60) as client,
    ):
        yield client
