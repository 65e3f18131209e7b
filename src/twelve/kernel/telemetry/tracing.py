"""OpenTelemetry tracing: one active tracer provider per process, W3C `traceparent` in and out.

With nothing to export spans to (the default), spans are not recorded at all: a propagating
tracer makes real trace and span ids, continues a client's trace (same trace id and flags, a new
span id for each hop), and records nothing, so logs and upstream calls still carry the trace id
for the price of two random numbers. With `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, the OpenTelemetry SDK records spans, samples them as
`OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` say (default: parent-based, always on) and sends
them in batches (`OTEL_BSP_*`) over OTLP/HTTP protobuf; `shutdown_tracing` flushes what is left.

The tracers this package hands out (`tracer`) ask the active provider at each span, so a test can
swap in a provider with an in-memory exporter (`install_provider`) for spans of the real app.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler
    from opentelemetry.util import types

# Either variable means an operator wants spans exported over OTLP/HTTP.
EXPORT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

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


class TracingSettingError(ValueError):
    """An `OTEL_*` variable Twelve cannot use; the message names it."""


_SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)


def build_provider(
    service_name: str = "twelve",
    *,
    exporter: SpanExporter | None = None,
    environ: Mapping[str, str] = os.environ,
) -> trace.TracerProvider:
    """A recording SDK provider when spans have somewhere to go, else the propagating one."""
    endpoint = _traces_endpoint(environ)
    if exporter is None and endpoint is None:
        return PropagatingTracerProvider()
    # Imported here: a process that exports nothing never loads the SDK.
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name.
    named = {} if environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    provider = TracerProvider(resource=Resource.create(named), sampler=_sampler(environ))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if endpoint is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Headers, timeout and compression come from the standard OTEL_EXPORTER_OTLP_* variables.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def _traces_endpoint(environ: Mapping[str, str]) -> str | None:
    """Where spans go: the traces endpoint as given, or the base endpoint plus `/v1/traces`."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    traces = environ.get(EXPORT_VARIABLES[1], "").strip()
    if traces:
        return traces
    base = environ.get(EXPORT_VARIABLES[0], "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


def _sampler(environ: Mapping[str, str]) -> Sampler:
    """`OTEL_TRACES_SAMPLER` and its argument; an unknown name or a bad ratio is refused."""
    from opentelemetry.sdk.trace import sampling

    name = environ.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
    if name not in _SAMPLERS:
        known = ", ".join(_SAMPLERS)
        raise TracingSettingError(
            f"OTEL_TRACES_SAMPLER: unknown sampler {name[:40]!r} (use one of {known})"
        )
    ratio = 1.0
    if name.endswith("traceidratio"):
        raw = environ.get("OTEL_TRACES_SAMPLER_ARG", "1.0")
        try:
            ratio = float(raw)
        except ValueError:
            ratio = -1.0
        if not 0.0 <= ratio <= 1.0:
            raise TracingSettingError(
                f"OTEL_TRACES_SAMPLER_ARG: {raw[:40]!r} is not a ratio in [0, 1]"
            )
    root: Sampler = {
        "always_on": sampling.ALWAYS_ON,
        "always_off": sampling.ALWAYS_OFF,
        "traceidratio": sampling.TraceIdRatioBased(ratio),
    }[name.removeprefix("parentbased_")]
    return sampling.ParentBased(root) if name.startswith("parentbased_") else root


class _Active:
    """The provider spans go to now, and a generation that changes whenever it does."""

    provider: trace.TracerProvider = PropagatingTracerProvider()
    generation = 0
    configured = False


class _SwitchedTracer(trace.Tracer):
    """A tracer that follows `_Active.provider` (one attribute check per span)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._generation = -1
        self._tracer: trace.Tracer = trace.NoOpTracer()

    def _current(self) -> trace.Tracer:
        if self._generation != _Active.generation:
            self._tracer = _Active.provider.get_tracer(self._name)
            self._generation = _Active.generation
        return self._tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._current().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._current().start_as_current_span(*args, **kwargs)


class _SwitchedProvider(trace.TracerProvider):
    """The process-wide OpenTelemetry provider: hands out tracers that follow `_Active`."""

    def get_tracer(self, instrumenting_module_name: str, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _SwitchedTracer(instrumenting_module_name)


def install_provider(provider: trace.TracerProvider) -> trace.TracerProvider:
    """Make `provider` the one every tracer uses from now on; returns the one it replaces."""
    previous = _Active.provider
    _Active.provider = provider
    _Active.generation += 1
    return previous


_global_set = False


def setup_tracing(
    service_name: str = "twelve", *, exporter: SpanExporter | None = None
) -> trace.TracerProvider:
    """Install the process's tracer provider, from the environment, unless one is installed;
    later calls return the same one until `shutdown_tracing`."""
    global _global_set
    if not _Active.configured:
        install_provider(build_provider(service_name, exporter=exporter))
        _Active.configured = True
    if not _global_set:  # OpenTelemetry allows one global provider per process
        trace.set_tracer_provider(_SwitchedProvider())
        propagate.set_global_textmap(_propagator)
        _global_set = True
    return _Active.provider


def shutdown_tracing() -> None:
    """Export the spans still queued and stop exporting (spans after this are not recorded)."""
    provider = install_provider(PropagatingTracerProvider())
    _Active.configured = False
    shutdown = getattr(provider, "shutdown", None)
    if callable(shutdown):
        shutdown()


def tracer(name: str) -> trace.Tracer:
    return _SwitchedTracer(name)


@contextmanager
def child_span(
    spans: trace.Tracer, name: str, attributes: types.Attributes = None
) -> Iterator[trace.Span]:
    """A span under the current one, current inside the block, when the current span records;
    else the current span itself, so an unrecorded request makes no ids and no objects."""
    parent = trace.get_current_span()
    if not parent.is_recording():
        yield parent
        return
    with spans.start_as_current_span(name, attributes=attributes) as span:
        yield span


def extract(headers: Mapping[str, str]) -> context.Context:
    """The parent context a client sent in `traceparent`/`tracestate`, if any."""
    return _propagator.extract(carrier=headers)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's `traceparent` (and `tracestate`) to outgoing headers."""
    _propagator.inject(carrier=headers)


@contextmanager
def continued(traceparent: str | None) -> Iterator[None]:
    """Inside the block, the trace `traceparent` names is current: work accepted earlier (a job,
    a workflow run) continues the trace of the request that asked for it."""
    if not traceparent:
        yield
        return
    token = context.attach(extract({"traceparent": traceparent}))
    try:
        yield
    finally:
        context.detach(token)


def traceparent_now() -> str | None:
    """The current span's `traceparent`, to hand to work that continues it elsewhere."""
    headers: dict[str, str] = {}
    inject(headers)
    return headers.get("traceparent")


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
