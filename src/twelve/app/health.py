"""Process-level routes: liveness, readiness and Prometheus metrics.

`/readyz` is ready when every database of this process answers and every remote module it
depends on accepts its internal key; deployments without credentials are listed but do not make
the process unready (other models still work). `/metrics` is open to whoever reaches the port
unless `TWELVE_METRICS_TOKEN` is set (then it needs that bearer token), and it can be moved to a
listener of its own (`TWELVE_METRICS_PORT`), e.g. one only the monitoring network reaches.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.security.utils import get_authorization_scheme_param

from twelve.app.readiness import Readiness
from twelve.kernel.errors import AuthenticationFailed
from twelve.kernel.telemetry.metrics import render


def build_router(
    readiness: Callable[[], Awaitable[Readiness]],
    *,
    metrics: bool = True,
    metrics_token: str | None = None,
) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers.")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @router.get("/readyz", summary="Readiness: databases and remote modules answer.")
    async def readyz() -> Response:
        state = await readiness()
        return Response(
            orjson.dumps(state.body()), 200 if state.ready else 503, media_type="application/json"
        )

    if metrics:
        router.include_router(metrics_router(metrics_token))
    return router


def metrics_router(token: str | None) -> APIRouter:
    """`GET /metrics`, behind a bearer token when one is configured."""
    router = APIRouter(tags=["operations"])
    expected = hashlib.sha256(token.encode()).digest() if token else None

    @router.get("/metrics", summary="Prometheus metrics.")
    async def metrics(request: Request) -> Response:
        if expected is not None:
            scheme, presented = get_authorization_scheme_param(request.headers.get("authorization"))
            digest = hashlib.sha256(presented.encode()).digest()
            # Compared as digests: constant time whatever the length presented.
            if scheme.lower() != "bearer" or not hmac.compare_digest(digest, expected):
                raise AuthenticationFailed(
                    "GET /metrics needs `Authorization: Bearer <TWELVE_METRICS_TOKEN>`."
                )
        payload, content_type = render()
        return Response(payload, media_type=content_type)

    return router
