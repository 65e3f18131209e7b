"""Tracing records nothing without an exporter, yet trace ids still propagate; an exporter
gets the spans."""

from __future__ import annotations

import secrets

import pytest
from opentelemetry import context, trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from twelve.kernel.telemetry.tracing import (
    build_provider,
    current_trace_id,
    extract,
    inject,
    install_provider,
    tracer,
)


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


def recording(environ: dict[str, str]) -> bool:
    """Whether a span starts recording; never ended, so no exporter tries to send it."""
    return build_provider(environ=environ).get_tracer("test").start_span("x").is_recording()


def test_an_otlp_endpoint_in_the_environment_turns_recording_on() -> None:
    assert recording({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})


def test_the_sampler_comes_from_the_standard_variables() -> None:
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    never = {**endpoint, "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}
    assert not recording(never)
    assert recording({**endpoint, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio"})


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_SAMPLER": "sometimes"},
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
    ],
)
def test_a_bad_sampler_is_refused_by_name(environ: dict[str, str]) -> None:
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", **environ}
    with pytest.raises(ValueError, match="OTEL_TRACES_SAMPLER"):
        build_provider(environ=environ)


def test_otel_sdk_disabled_turns_export_off() -> None:
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}
    assert not recording(environ)


def test_an_installed_provider_is_used_by_tracers_made_before_it() -> None:
    made_before = tracer("early")
    exporter = InMemorySpanExporter()
    previous = install_provider(build_provider(exporter=exporter, environ={}))
    try:
        with made_before.start_as_current_span("caught") as span:
            assert span.is_recording()
    finally:
        install_provider(previous)
    with made_before.start_as_current_span("not caught") as span:
        assert not span.is_recording()
