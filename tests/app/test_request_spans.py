"""The spans of real requests through the app, caught by an in-memory exporter: one trace per
request, with the gateway's server span at its root, then routing (`twelve.route`), the provider
call (GenAI semantic conventions), post-processing and the response."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.app.corpus.stack import Stack, serving
from tests.app.observed import config
from tests.fakes.upstream import FakeUpstream
from twelve.kernel.telemetry.tracing import install_provider

URL = "/v1/chat/completions"
ASK = {"messages": [{"role": "user", "content": "one two three"}]}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    provider.shutdown()


@pytest.fixture
async def stack(
    upstream: FakeUpstream, tmp_path: Path, exporter: InMemorySpanExporter
) -> AsyncIterator[Stack]:
    async with serving(upstream, tmp_path, config=config(upstream), credits=1.0) as running:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        previous = install_provider(provider)
        try:
            yield running
        finally:
            install_provider(previous)


def trace_of(
    exporter: InMemorySpanExporter, trace_id: str, *, once: bool = True
) -> dict[str, ReadableSpan]:
    """The trace's spans by name (the last of a name; `once`: each name appears once)."""
    spans = [
        s
        for s in exporter.get_finished_spans()
        if s.context is not None and format(s.context.trace_id, "032x") == trace_id
    ]
    by_name = {s.name: s for s in spans}
    if once:
        assert len(by_name) == len(spans), [s.name for s in spans]
    return by_name


def parent_of(span: ReadableSpan, spans: dict[str, ReadableSpan]) -> str | None:
    if span.parent is None:
        return None
    names = [n for n, s in spans.items() if s.context and s.context.span_id == span.parent.span_id]
    return names[0] if names else "(elsewhere)"


async def test_an_answer_makes_one_trace_from_gateway_to_response(
    stack: Stack, exporter: InMemorySpanExporter
) -> None:
    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    response = await stack.client.post(URL, json={**ASK, "model": "echo"}, headers=headers)
    assert response.status_code == 200

    spans = trace_of(exporter, trace_id)
    root = f"POST {URL}"
    assert set(spans) == {root, "twelve.route", "chat gpt-echo", "post_processing", "response"}
    assert parent_of(spans[root], spans) == "(elsewhere)"  # the client's span
    assert {name: parent_of(span, spans) for name, span in spans.items() if name != root} == {
        "twelve.route": root,
        "chat gpt-echo": "twelve.route",
        "post_processing": root,
        "response": root,
    }
    call = spans["chat gpt-echo"].attributes or {}
    assert call["gen_ai.operation.name"] == "chat"
    assert call["gen_ai.request.model"] == "gpt-echo"
    assert call["gen_ai.response.model"] == "gpt-echo"
    assert call["gen_ai.provider.name"] == call["gen_ai.system"] == "openai"
    assert (call["gen_ai.usage.input_tokens"], call["gen_ai.usage.output_tokens"]) == (3, 4)
    assert call["twelve.outcome"] == "ok"
    routing = spans["twelve.route"].attributes or {}
    assert routing["twelve.model"] == "echo"
    assert routing["twelve.deployment"] == response.headers["x-twelve-deployment"]
    assert routing["twelve.attempts"] == 1
    served = spans[root].attributes or {}
    assert (served["http.route"], served["http.response.status_code"]) == (URL, 200)


async def test_a_stream_and_a_failure_are_traced_too(
    stack: Stack, exporter: InMemorySpanExporter
) -> None:
    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    body = {**ASK, "model": "echo", "stream": True}
    assert (await stack.client.post(URL, json=body, headers=headers)).status_code == 200
    streamed = trace_of(exporter, trace_id)
    assert (streamed["response"].attributes or {})["twelve.streaming"] is True
    assert (streamed["chat gpt-echo"].attributes or {})["twelve.streaming"] is True
    assert (streamed["chat gpt-echo"].attributes or {})["gen_ai.usage.output_tokens"] == 4

    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    failed = await stack.client.post(URL, json={**ASK, "model": "broken"}, headers=headers)
    assert failed.status_code == 502
    spans = trace_of(exporter, trace_id, once=False)  # the call, then its retry
    names = [s.name for s in exporter.get_finished_spans()]
    assert names.count("chat fail-500") == 2
    call = spans["chat fail-500"]
    assert (call.attributes or {})["twelve.outcome"] == "upstream_5xx"
    assert not call.status.is_ok
    assert (spans["post_processing"].attributes or {})["twelve.outcome"] == "upstream_error"


async def test_an_unsampled_request_records_no_span(
    stack: Stack, exporter: InMemorySpanExporter
) -> None:
    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-00"}  # not sampled
    response = await stack.client.post(URL, json={**ASK, "model": "echo"}, headers=headers)
    assert response.status_code == 200
    assert trace_of(exporter, trace_id) == {}
