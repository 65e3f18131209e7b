"""OpenTelemetry tracing: one tracer provider per process, W3C `traceparent` in and out.

Spans are exported over OTLP only when an exporter is configured; without one the SDK still makes
real trace and span ids, so logs and upstream calls carry the same trace id.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_provider: TracerProvider | None = None
_propagator = TraceContextTextMapPropagator()


def setup_tracing(service_name: str = "twelve") -> TracerProvider:
    """Install the process's tracer provider once; later calls return the same one."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        trace.set_tracer_provider(_provider)
        propagate.set_global_textmap(_propagator)
    return _provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def extract(headers: Mapping[str, str]) -> context.Context:
    """The parent context a client sent in `traceparent`/`tracestate`, if any."""
    return _propagator.extract(carrier=headers)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's `traceparent` (and `tracestate`) to outgoing headers."""
    _propagator.inject(carrier=headers)


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
