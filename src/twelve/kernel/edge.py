"""The ASGI middleware every request passes first: request id, trace span, body limit, metrics and
one access-log line. Pure ASGI (no BaseHTTPMiddleware) so streaming passes through untouched."""

from __future__ import annotations

import re
import secrets
import time

import structlog
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twelve.kernel.errors import PayloadTooLarge
from twelve.kernel.http_errors import render
from twelve.kernel.telemetry import tracing
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = get_logger("twelve.http")
# The only request headers the edge reads; decoding the rest would be work for nothing.
_READ_HEADERS = frozenset({b"x-request-id", b"content-length", b"traceparent", b"tracestate"})
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_tracer = tracing.tracer("twelve.http")


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k in _READ_HEADERS
        }
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _SAFE_ID.match(incoming) else f"req_{secrets.token_hex(12)}"
        method = scope["method"]
        status = 500

        declared = headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > self.max_body_bytes
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _too_large(self.max_body_bytes)
            return message

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(b"x-request-id", request_id.encode())]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        parent = tracing.extract(headers)
        token = otel_context.attach(parent)
        try:
            with _tracer.start_as_current_span(
                f"{method} {scope['path']}", kind=SpanKind.SERVER
            ) as span:
                structlog.contextvars.bind_contextvars(
                    request_id=request_id, trace_id=tracing.current_trace_id()
                )
                try:
                    if too_large:
                        await render(_too_large(self.max_body_bytes))(scope, receive, send_with_ids)
                    else:
                        await self.app(scope, limited_receive, send_with_ids)
                finally:
                    route = _route_of(scope)
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.request.method", method)
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                    elapsed = time.perf_counter() - started
                    HTTP_REQUESTS.labels(route, method, str(status)).inc()
                    HTTP_LATENCY.labels(route, method).observe(elapsed)
                    log.info(
                        "request",
                        method=method,
                        path=scope["path"],
                        status=status,
                        duration_ms=round(elapsed * 1000, 2),
                    )
        finally:
            structlog.contextvars.clear_contextvars()
            otel_context.detach(token)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
