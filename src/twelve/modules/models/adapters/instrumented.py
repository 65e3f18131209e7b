"""Tracing and metrics around the generic provider port, so no adapter has to know about either.

Each upstream call gets an OpenTelemetry client span (GenAI semantic conventions), its W3C
`traceparent` in the upstream request's headers, `UPSTREAM_LATENCY` (time to the response when
not streaming, to the first chunk when streaming) and one `UPSTREAM_REQUESTS` count by outcome:
`ok`, the `UpstreamError.kind`, `invalid_request`, `cancelled` or `error`. A stream's time to
its first chunk is also `TIME_TO_FIRST_TOKEN`; a call that reported output tokens adds its
tokens per second (output tokens over the call's whole duration) to `TOKENS_PER_SECOND`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from prometheus_client import Counter

from twelve.kernel.errors import InvalidRequest, UpstreamError
from twelve.kernel.streams import close_stream
from twelve.kernel.telemetry.metrics import (
    TIME_TO_FIRST_TOKEN,
    TOKENS_PER_SECOND,
    UPSTREAM_LATENCY,
    UPSTREAM_REQUESTS,
)
from twelve.kernel.telemetry.tracing import inject, tracer
from twelve.modules.models.adapters.port import ProviderPort
from twelve.modules.models.api import DeploymentRef, JSONObject, Operation

_TRACER = tracer(__name__)
# Failures that came as an upstream response, not as a timeout or a broken connection.
_ANSWERED_FAILURES = frozenset(
    {"upstream_4xx", "upstream_5xx", "rate_limit", "auth", "context_length", "content_filter"}
)


class InstrumentedPort:
    """A `ProviderPort` that records every call it passes on to `inner`."""

    def __init__(self, inner: ProviderPort, deployment: DeploymentRef) -> None:
        self._inner = inner
        self._deployment = deployment
        self._labels = (deployment.provider, deployment.model, deployment.id)
        # Prepared once per deployment, not per call: the span's attributes and metric children.
        self._attributes = _span_attributes(deployment)
        self._latency = UPSTREAM_LATENCY.labels(*self._labels)
        self._first_token = TIME_TO_FIRST_TOKEN.labels(deployment.model, deployment.id)
        self._tokens_per_second = TOKENS_PER_SECOND.labels(deployment.model, deployment.id)
        self._outcomes: dict[str, Counter] = {}

    async def call(
        self, operation: Operation, body: JSONObject, headers: Mapping[str, str]
    ) -> JSONObject:
        span = self._start_span(operation.telemetry_name, streaming=False)
        started = perf_counter()
        outcome = "error"
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False):
                result = await self._inner.call(operation, body, self._headers(span, headers))
            outcome = "ok"
            _record_response(span, result)
            self._count_output(_record_usage(span, operation, result.get("usage")), started)
            return result
        except UpstreamError as exc:
            outcome = exc.kind
            raise
        except InvalidRequest:
            outcome = "invalid_request"  # refused before any upstream call
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            # Only a call that got an answer (even an error status) has a latency worth timing.
            answered = outcome == "ok" or outcome in _ANSWERED_FAILURES
            self._finish(span, outcome, perf_counter() - started if answered else None)

    async def stream(
        self, operation: Operation, body: JSONObject, headers: Mapping[str, str]
    ) -> AsyncIterator[JSONObject]:
        # The span is never made current here: a context attached in an async generator may be
        # detached in another context when the consumer stops early.
        span = self._start_span(operation.telemetry_name, streaming=True)
        started = perf_counter()
        first_chunk_after: float | None = None
        output_tokens: int | None = None
        outcome = "error"
        try:
            chunks = self._inner.stream(operation, body, self._headers(span, headers))
            try:
                async for chunk in chunks:
                    if first_chunk_after is None:
                        first_chunk_after = perf_counter() - started
                        self._first_token.observe(first_chunk_after)
                        _record_response(span, chunk)
                    if chunk.get("usage"):
                        output_tokens = _record_usage(span, operation, chunk["usage"])
                    yield chunk
            finally:
                await close_stream(chunks)
            outcome = "ok"
            self._count_output(output_tokens, started)
        except UpstreamError as exc:
            outcome = exc.kind
            raise
        except InvalidRequest:
            outcome = "invalid_request"
            raise
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "cancelled"
            raise
        finally:
            self._finish(span, outcome, first_chunk_after)

    def _count_output(self, tokens: int | None, started: float) -> None:
        elapsed = perf_counter() - started
        if tokens and elapsed > 0:
            self._tokens_per_second.observe(tokens / elapsed)

    def _start_span(self, operation: str, *, streaming: bool) -> Span:
        attributes = {
            **self._attributes,
            "gen_ai.operation.name": operation,
            "twelve.streaming": streaming,
        }
        name = f"{operation} {self._deployment.upstream_model}"
        return _TRACER.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)

    def _headers(self, span: Span, headers: Mapping[str, str]) -> dict[str, str]:
        sent = dict(headers)
        with trace.use_span(span, end_on_exit=False):
            inject(sent)
        return sent

    def _finish(self, span: Span, outcome: str, latency: float | None) -> None:
        if latency is not None:
            self._latency.observe(latency)
        requests = self._outcomes.get(outcome)
        if requests is None:  # outcomes are a small fixed set (kinds of failure)
            requests = self._outcomes[outcome] = UPSTREAM_REQUESTS.labels(*self._labels, outcome)
        requests.inc()
        if span.is_recording():
            span.set_attribute("twelve.outcome", outcome)
            if outcome != "ok":
                span.set_status(Status(StatusCode.ERROR, outcome))
        span.end()


def _span_attributes(deployment: DeploymentRef) -> dict[str, str | int]:
    url = urlsplit(deployment.base_url)
    return {
        "gen_ai.provider.name": deployment.provider,
        "gen_ai.system": deployment.provider,  # the name before semantic conventions 1.37
        "gen_ai.request.model": deployment.upstream_model,
        "server.address": url.hostname or "",
        "server.port": url.port or (443 if url.scheme == "https" else 80),
        "twelve.model": deployment.model,
        "twelve.deployment": deployment.id,
    }


def _record_usage(span: Span, operation: Operation, usage: Any) -> int | None:
    """Token counts where the operation's descriptor says `usage` keeps them; returns the
    output tokens (None when not reported)."""
    if not isinstance(usage, dict):
        return None
    output = usage.get(operation.output_tokens) if operation.output_tokens else None
    if span.is_recording():
        for attribute, key in (
            ("gen_ai.usage.input_tokens", operation.input_tokens),
            ("gen_ai.usage.output_tokens", operation.output_tokens),
        ):
            if key is not None and isinstance(usage.get(key), int):
                span.set_attribute(attribute, usage[key])
    return output if isinstance(output, int) and not isinstance(output, bool) else None


def _record_response(span: Span, answer: JSONObject) -> None:
    """The model and id the upstream answered with (a chunk's, when streaming)."""
    if not span.is_recording():
        return
    for attribute, key in (("gen_ai.response.model", "model"), ("gen_ai.response.id", "id")):
        value = answer.get(key)
        if isinstance(value, str):
            span.set_attribute(attribute, value[:256])
