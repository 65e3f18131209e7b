"""The ASGI application: every module's routes behind the edge middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from twelve.app import health
from twelve.app.bootstrap import Container, build
from twelve.app.openapi import install as install_openapi
from twelve.app.settings import Settings
from twelve.kernel.edge import EdgeMiddleware
from twelve.kernel.http_errors import install_error_handlers
from twelve.kernel.rpc import internal_router
from twelve.kernel.telemetry.logging import setup_logging
from twelve.kernel.telemetry.tracing import setup_tracing, shutdown_tracing
from twelve.modules.admin import http as admin_http
from twelve.modules.admin.adapters.admin_key import AdminKeySource, load_admin_key


def create_app(
    settings: Settings | None = None,
    container: Container | None = None,
    admin_key: AdminKeySource | None = None,
) -> FastAPI:
    settings = settings or Settings()
    setup_logging(settings.log_level, settings.log_format)
    setup_tracing()
    container = container or build(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        await container.start_serving()
        try:
            yield
        finally:
            await container.stop()
            shutdown_tracing()  # sends the spans still batched

    # FastAPI's own telemetry is off: EdgeMiddleware already makes the server span, the metrics
    # and the access log, and a second set would double the per-request cost.
    app = FastAPI(
        title="Twelve",
        version="0.1.0",
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        docs_url=None,
        redoc_url=None,
    )
    app.state.container = container
    install_error_handlers(app)
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    app.include_router(
        health.build_router(
            container.readiness,
            metrics=settings.metrics_port is None,
            metrics_token=metrics_token,
        )
    )
    for router in container.routers:
        app.include_router(router)
    if container.admin is not None:
        admin_key = admin_key or admin_key_for(settings)
        app.include_router(admin_http.build_router(container.admin, admin_key))
    if container.internal and settings.internal_key is not None:
        internal_key = settings.internal_key.get_secret_value()
        for module, endpoints in container.internal.items():
            app.include_router(internal_router(module, endpoints, internal_key))
    install_openapi(app)
    app.add_middleware(
        EdgeMiddleware,
        max_body_bytes=settings.max_body_bytes,
        direct=container.direct,
        body_limits=container.body_limits,
    )
    return app


def create_metrics_app(settings: Settings) -> FastAPI:
    """The app behind `TWELVE_METRICS_PORT`: `/metrics` and nothing else."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    app = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_error_handlers(app)
    app.include_router(health.metrics_router(token))
    return app


def admin_key_for(settings: Settings) -> AdminKeySource:
    """The admin key from settings, or the one kept in (or first generated into) the data dir."""
    configured = settings.admin_key.get_secret_value() if settings.admin_key else None
    return load_admin_key(configured, settings.data_dir)
