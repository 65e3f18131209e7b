"""OpenTelemetry tracing: one tracer provider per process, W3C `traceparent` in and out.

With nothing to export spans to (the default), spans are not recorded at all: a propagating
tracer makes real trace and span ids, continues a client's trace (same trace id and flags, a new
span id for each hop), and records nothing, so logs and upstream calls still carry the trace id
for the price of two random numbers. With an exporter (passed to `setup_tracing`) or
`OTEL_EXPORTER_OTLP_ENDPOINT` set, the OpenTelemetry SDK records spans as usual.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING

from opentelemetry import context, propagate, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.util import types

# Either variable means an operator wants spans; the OTLP exporter itself is not built yet, and
# `setup_tracing(exporter=...)` is the seam it will plug into.
EXPORT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_provider: trace.TracerProvider | None = None
_propagator = TraceContextTextMapPropagator()


class _PropagatingTracer(trace.NoOpTracer):
    """Makes non-recording spans that still carry a trace: the parent's, or a new one."""

    def start_span(
        self,
        name: str,
        context: context.Context | None = None,
        kind: trace.SpanKind = trace.SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: trace._Links = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        if parent.is_valid:
            trace_id, flags, state = parent.trace_id, parent.trace_flags, parent.trace_state
        else:
            # Nothing here records this trace, so a trace Twelve starts is not marked sampled.
            trace_id, flags, state = _nonzero(128), trace.TraceFlags(trace.TraceFlags.DEFAULT), None
        span = trace.SpanContext(
            trace_id, _nonzero(64), is_remote=False, trace_flags=flags, trace_state=state
        )
        return trace.NonRecordingSpan(span)


class PropagatingTracerProvider(trace.NoOpTracerProvider):
    """The provider used when no exporter is configured (see the module docstring)."""

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> trace.Tracer:
        return _PropagatingTracer()


def _nonzero(bits: int) -> int:
    # W3C ids must not be all zeros; `random` (not `secrets`) as the OpenTelemetry SDK does.
    return random.getrandbits(bits) or 1


def build_provider(
    service_name: str = "twelve",
    *,
    exporter: SpanExporter | None = None,
    environ: Mapping[str, str] = os.environ,
) -> trace.TracerProvider:
    """A recording SDK provider when spans have somewhere to go, else the propagating one."""
    if exporter is None and not any(environ.get(name) for name in EXPORT_VARIABLES):
        return PropagatingTracerProvider()
    # Imported here: a process that exports nothing never loads the SDK.
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def setup_tracing(
    service_name: str = "twelve", *, exporter: SpanExporter | None = None
) -> trace.TracerProvider:
    """Install the process's tracer provider once; later calls return the same one."""
    global _provider
    if _provider is None:
        _provider = build_provider(service_name, exporter=exporter)
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
