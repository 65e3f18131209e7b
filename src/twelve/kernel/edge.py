"""The ASGI middleware every request passes first: request id, trace span, body limit, metrics and
one access-log line. Pure ASGI (no BaseHTTPMiddleware) so streaming passes through untouched.

It is also where a request's failures end, so that each is answered and logged once with its ids:
- an unexpected exception is logged once (`unhandled_error`, with request and trace id) and
  answered 500 in the OpenAI shape, carrying `x-request-id` like every other response;
- a body over the limit is a 413 on every route, even where a framework would have turned the
  failed read into a 400;
- a client that hangs up while still sending its body is recorded as status 499 and counted as
  `client_disconnect`, not as a server error.

A route may have a body bound of its own (`body_limits`, by method and exact path: the file
upload); every other route keeps the process's `max_body_bytes`.

Hot routes (`direct`: the public `/v1` POST endpoints) are called here as plain ASGI apps, by
method and exact path, skipping the framework's routing, middleware stack and dependency solving;
every other request goes through the wrapped app.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping

import structlog
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twelve.kernel.errors import PayloadTooLarge
from twelve.kernel.http_errors import render, server_error
from twelve.kernel.telemetry import tracing
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import ERRORS, HTTP_LATENCY, HTTP_REQUESTS, METHODS, OTHER

log = get_logger("twelve.http")
# The only request headers the edge reads; decoding the rest would be work for nothing.
_READ_HEADERS = frozenset({b"x-request-id", b"content-length", b"traceparent", b"tracestate"})
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# nginx's status for "the client closed the request": nobody receives it, logs and metrics do.
CLIENT_CLOSED = 499
_tracer = tracing.tracer("twelve.http")
# (method, path) -> (the route's name in metrics and spans, its plain ASGI app).
DirectRoutes = Mapping[tuple[str, str], tuple[str, ASGIApp]]


class _Exchange:
    """What the edge learns about one request while it runs."""

    __slots__ = (
        "body_done",
        "disconnected",
        "limit",
        "overflow",
        "received",
        "replaced",
        "started",
        "status",
    )

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.status = 500
        self.received = 0
        self.body_done = False
        self.disconnected = False  # hung up before its body was complete
        self.overflow = False  # sent more than the body limit
        self.started = False  # a response start went out
        self.replaced = False  # the app's answer is being replaced by our 413


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        direct: DirectRoutes | None = None,
        body_limits: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.direct = dict(direct or {})
        self.body_limits = dict(body_limits or {})

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
        # A unique id, not a secret: `random` costs no system call (`secrets` does, per request).
        request_id = incoming if _SAFE_ID.match(incoming) else f"req_{random.getrandbits(96):024x}"
        method = scope["method"]
        route, app = self.direct.get((method, scope["path"]), (None, self.app))
        limit = self.body_limits.get((method, scope["path"]), self.max_body_bytes)
        declared = headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > limit
        ex = _Exchange(limit)

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                ex.received += len(message.get("body", b""))
                ex.body_done = not message.get("more_body", False)
                if ex.received > limit:
                    ex.overflow = True
                    raise _too_large(limit)
            elif message["type"] == "http.disconnect" and not ex.body_done:
                ex.disconnected = True
            return message

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                if ex.overflow and message["status"] != 413:
                    ex.replaced = True
                if ex.replaced:
                    return
                ex.started = True
                ex.status = message["status"]
                extra = [(b"x-request-id", request_id.encode())]
                message["headers"] = [*message.get("headers", []), *extra]
            elif ex.replaced:
                return
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
                        await render(_too_large(limit))(scope, receive, send_with_ids)
                    else:
                        await self._serve(app, scope, limited_receive, send_with_ids, ex)
                finally:
                    if ex.disconnected:
                        ex.status = CLIENT_CLOSED
                        ERRORS.labels(kind="client_disconnect").inc()
                    route = route or _route_of(scope)
                    if span.is_recording():  # not when nothing exports spans (the default)
                        span.update_name(f"{method} {route}")
                        span.set_attribute("http.request.method", method)
                        span.set_attribute("http.route", route)
                        span.set_attribute("http.response.status_code", ex.status)
                        if ex.status >= 500 and ex.status != CLIENT_CLOSED:
                            span.set_status(Status(StatusCode.ERROR))
                    elapsed = time.perf_counter() - started
                    count, latency = _series(route, method, ex.status)
                    count.inc()
                    latency.observe(elapsed)
                    log.info(
                        "request",
                        method=method,
                        path=scope["path"],
                        status=ex.status,
                        duration_ms=round(elapsed * 1000, 2),
                    )
        finally:
            structlog.contextvars.clear_contextvars()
            otel_context.detach(token)

    async def _serve(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, ex: _Exchange
    ) -> None:
        try:
            await app(scope, receive, send)
        except Exception as exc:
            if ex.disconnected or isinstance(exc, ClientDisconnect):
                ex.disconnected = True
            elif not ex.overflow:
                # Logged here, once, while the request's ids are still bound; not re-raised, so
                # neither Starlette nor the server logs it a second time.
                log.error("unhandled_error", exc_info=exc)
                if not ex.started:
                    await server_error()(scope, receive, send)
        if ex.overflow and not ex.started:
            ex.replaced = False
            await render(_too_large(ex.limit))(scope, receive, send)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")


_SERIES: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _series(route: str, method: str, status: int) -> tuple[Counter, Histogram]:
    """The request counter and latency children for one label set, looked up once: `labels()`
    per request was a visible share of the edge's time. Bounded as Prometheus's own series are
    (known routes or `unmatched`, the server's methods or `other`, status codes), and so is
    this dictionary."""
    if method not in METHODS:  # any token a client likes: only the server's own are labels
        method = OTHER
    key = (route, method, status)
    series = _SERIES.get(key)
    if series is None:
        series = _SERIES[key] = (
            HTTP_REQUESTS.labels(route, method, str(status)),
            HTTP_LATENCY.labels(route, method),
        )
    return series


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
