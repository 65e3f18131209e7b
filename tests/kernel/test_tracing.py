"""Tracing records nothing without an exporter, yet trace ids still propagate; an exporter
gets the spans."""

from __future__ import annotations

import secrets

from opentelemetry import context, trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from twelve.kernel.telemetry.tracing import build_provider, current_trace_id, extract, inject


def _outgoing(tracer: trace.Tracer, incoming: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """What a request carrying `incoming` headers sends upstream, and the trace id its logs show."""
    token = context.attach(extract(incoming))
    try:
        with tracer.start_as_current_span("server", kind=trace.SpanKind.SERVER):
            with tracer.start_as_current_span("upstream call", kind=trace.SpanKind.CLIENT):
                headers: dict[str, str] = {}
                inject(headers)
            return headers, current_trace_id()
    finally:
        context.detach(token)


def test_without_an_exporter_spans_are_not_recorded() -> None:
    tracer = build_provider(environ={}).get_tracer("test")
    with tracer.start_as_current_span("anything") as span:
        assert not span.is_recording()
        assert span.get_span_context().is_valid


def test_without_an_exporter_a_clients_trace_is_continued_with_new_span_ids() -> None:
    tracer = build_provider(environ={}).get_tracer("test")
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    sent, logged = _outgoing(tracer, {"traceparent": f"00-{trace_id}-{parent_id}-01"})

    version, sent_trace, sent_parent, flags = sent["traceparent"].split("-")
    assert (version, sent_trace, flags) == ("00", trace_id, "01")
    assert sent_parent not in {parent_id, "0" * 16}
    assert logged == trace_id


def test_without_an_exporter_a_new_trace_starts_when_the_client_sent_none() -> None:
    tracer = build_provider(environ={}).get_tracer("test")
    first, logged = _outgoing(tracer, {})
    second, _ = _outgoing(tracer, {})

    trace_id = first["traceparent"].split("-")[1]
    assert trace_id != "0" * 32
    assert logged == trace_id
    assert second["traceparent"].split("-")[1] != trace_id  # a new trace per request
    # Nothing records it, so it is not marked sampled.
    assert first["traceparent"].endswith("-00")


def test_an_exporter_gets_the_spans() -> None:
    exporter = InMemorySpanExporter()
    provider = build_provider(exporter=exporter, environ={})
    trace_id = secrets.token_hex(16)
    sent, _ = _outgoing(
        provider.get_tracer("test"), {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    )
    provider.force_flush()  # type: ignore[attr-defined]

    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["upstream call", "server"]
    assert {format(s.context.trace_id, "032x") for s in spans} == {trace_id}
    assert sent["traceparent"].split("-")[2] == format(spans[0].context.span_id, "016x")


def test_an_otlp_endpoint_in_the_environment_turns_recording_on() -> None:
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    with build_provider(environ=environ).get_tracer("test").start_as_current_span("x") as span:
        assert span.is_recording()
