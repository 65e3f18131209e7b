"""Request metering: what each public request adds to the metrics, recorded once, by the
finaliser (and by the pipeline when a stream opens).

Tokens (in, out, cached), units (images, audio seconds, characters) and cost by model, deployment
and customer; latency by model and deployment; the gateway's own overhead by endpoint. Labels are
configured names only: the model and deployment that served (`other` and `none` when none did),
never the model a client named, and the customer's id (one series per customer, as the cost
metric has). Each label set's children are looked up once and kept, since `labels()` per request
costs a lock and a hash of the label tuple; the set is bounded by the configuration and the
customers.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any, TypeVar, cast

from prometheus_client import Counter, Gauge, Histogram

from twelve.kernel.telemetry.metrics import (
    COST_USD,
    GATEWAY_OVERHEAD,
    NO_DEPLOYMENT,
    OTHER,
    REQUEST_LATENCY,
    REQUESTS_IN_FLIGHT,
    TOKENS,
    USAGE_UNITS,
)
from twelve.modules.gateway.exchange import Exchange

_CHILDREN: dict[tuple[Any, tuple[str, ...]], Any] = {}
M = TypeVar("M", Counter, Gauge, Histogram)
# The `usage` keys the images and audio modules count units in, and their metric's unit label.
_UNITS = (("images", "images"), ("seconds", "audio_seconds"), ("characters", "characters"))


def _child(metric: M, *labels: str) -> M:
    child = _CHILDREN.get((metric, labels))
    if child is None:
        child = _CHILDREN[(metric, labels)] = metric.labels(*labels)
    return cast(M, child)


def in_flight(exchange: Exchange) -> Gauge:
    """The in-flight gauge of the exchange's endpoint: the pipeline counts a request in, the
    finaliser's one end counts it out."""
    return _child(REQUESTS_IN_FLIGHT, exchange.endpoint.name)


def served_by(exchange: Exchange) -> tuple[str, str]:
    """The model and deployment labels: what served the request, or `other`/`none`."""
    deployment = exchange.deployment
    if deployment is None:
        return OTHER, NO_DEPLOYMENT
    return deployment.model, deployment.id


def customer_of(exchange: Exchange) -> str:
    return exchange.principal.customer_id if exchange.principal else ""


def record_usage(exchange: Exchange, usage: dict[str, Any]) -> None:
    model, deployment = served_by(exchange)
    customer = customer_of(exchange)
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    if isinstance(prompt, int) and prompt > 0:
        _child(TOKENS, model, deployment, customer, "in").inc(prompt)
    if isinstance(completion, int) and completion > 0:
        _child(TOKENS, model, deployment, customer, "out").inc(completion)
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if isinstance(cached, int) and cached > 0:
        _child(TOKENS, model, deployment, customer, "cached").inc(cached)
    for key, unit in _UNITS:
        count = usage.get(key)
        if isinstance(count, int | float) and not isinstance(count, bool) and count > 0:
            _child(USAGE_UNITS, model, deployment, customer, unit).inc(count)


def record_cost(exchange: Exchange) -> None:
    """What the credit hold charged, in dollars (nothing when it charged nothing)."""
    micros = exchange.charged_micros
    if micros:
        model, deployment = served_by(exchange)
        _child(COST_USD, model, deployment, customer_of(exchange)).inc(micros / 1_000_000)


def record_overhead(exchange: Exchange) -> None:
    """The gateway's share of the request so far: its time minus its upstream calls' time."""
    if exchange.overhead_measured:
        return
    exchange.overhead_measured = True
    spent = perf_counter() - exchange.started - exchange.upstream_seconds
    _child(GATEWAY_OVERHEAD, exchange.endpoint.name).observe(max(spent, 0.0))


def record_end(exchange: Exchange) -> None:
    """The request's latency and, unless measured already, its overhead."""
    record_overhead(exchange)
    model, deployment = served_by(exchange)
    _child(REQUEST_LATENCY, model, deployment).observe(perf_counter() - exchange.started)
