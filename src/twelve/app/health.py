"""Process-level routes: liveness, readiness (every module's database answers) and metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

from twelve.kernel.telemetry.metrics import render


def build_router(readiness: Callable[[], Awaitable[dict[str, bool]]]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @router.get("/readyz")
    async def readyz() -> Response:
        checks = await readiness()
        ready = all(checks.values())
        body = {"status": "ready" if ready else "unavailable", "databases": checks}
        return Response(orjson.dumps(body), 200 if ready else 503, media_type="application/json")

    @router.get("/metrics")
    async def metrics() -> Response:
        payload, content_type = render()
        return Response(payload, media_type=content_type)

    return router
