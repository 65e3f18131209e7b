"""Prometheus metrics shared by every module, registered once per process.

Metrics live here, not in the modules, because one registry serves `/metrics` and a metric may be
recorded by more than one module (upstream latency by models, tokens by the gateway).

Cardinality is bounded by construction (README "Observability"): `model` and `deployment` are
configured names (a model no deployment served is `other`, a request routed nowhere has
deployment `none`), `customer` is a customer id (one series per customer the operator created),
`route` is a route template or `unmatched`, `method` one of `METHODS` or `other`, `kind` one of
`error_kinds.KINDS`. Nothing a client sends becomes a label value as sent.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

# `_created` series double the exposition size and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

HTTP_REQUESTS = Counter(
    "twelve_http_requests_total", "HTTP requests served.", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "twelve_http_request_seconds",
    "Time from request to the end of the response.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
UPSTREAM_REQUESTS = Counter(
    "twelve_upstream_requests_total",
    "Calls to upstream providers by outcome.",
    ["provider", "model", "deployment", "outcome"],
)
UPSTREAM_LATENCY = Histogram(
    "twelve_upstream_seconds",
    "Upstream time to response headers (time to first byte when streaming).",
    ["provider", "model", "deployment"],
    buckets=LATENCY_BUCKETS,
)
TOKENS = Counter(
    "twelve_tokens_total",
    "Tokens by model, deployment, customer (its id) and direction: in, out, or cached (input "
    "tokens the upstream served from its own prompt cache; also counted in `in`).",
    ["model", "deployment", "customer", "direction"],
)
USAGE_UNITS = Counter(
    "twelve_usage_units_total",
    "What is billed per unit rather than per token, by model, deployment, customer (its id) and "
    "unit: images (made, analysed or pages read), audio_seconds (transcribed or spoken), "
    "characters (spoken).",
    ["model", "deployment", "customer", "unit"],
)
ERRORS = Counter(
    "twelve_errors_total",
    "Errors returned to clients by kind (rate_limit, context_length, content_filter, timeout, "
    "upstream_5xx, auth, insufficient_quota, ...: the fixed set in error_kinds.KINDS).",
    ["kind"],
)
# Gateway-level request figures (issue 10), recorded by the finaliser and the instrumented port.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"  # the label of a model no deployment served, and of an unknown method
NO_DEPLOYMENT = "none"  # the deployment label of a request that reached no deployment
REQUEST_LATENCY = Histogram(
    "twelve_request_seconds",
    "Public AI requests from arrival to their end (a stream's last chunk), by model and "
    "deployment.",
    ["model", "deployment"],
    buckets=LATENCY_BUCKETS,
)
GATEWAY_OVERHEAD = Histogram(
    "twelve_gateway_overhead_seconds",
    "Time a request spent in the gateway rather than waiting on upstreams: its total (to the "
    "first chunk when streaming) minus the time its upstream calls took.",
    ["endpoint"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
TIME_TO_FIRST_TOKEN = Histogram(
    "twelve_time_to_first_token_seconds",
    "Streams: time from the upstream call's start to its first chunk.",
    ["model", "deployment"],
    buckets=LATENCY_BUCKETS,
)
TOKENS_PER_SECOND = Histogram(
    "twelve_output_tokens_per_second",
    "Output tokens divided by the upstream call's duration (its generation time), per call "
    "that reported output tokens.",
    ["model", "deployment"],
    buckets=(1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
COST_USD = Counter(
    "twelve_cost_usd_total",
    "US dollars charged, by model, deployment and customer (its id).",
    ["model", "deployment", "customer"],
)
REQUESTS_IN_FLIGHT = Gauge(
    "twelve_requests_in_flight",
    "Public AI requests admitted and not yet ended (streams until their last chunk).",
    ["endpoint"],
)
QUEUE_DEPTH = Gauge(
    "twelve_queue_depth",
    "Jobs waiting to run, by priority (and `running` for those in hand), as last counted.",
    ["priority"],
)
JOB_ATTEMPTS = Counter(
    "twelve_job_attempts_total",
    "Job attempts run here, by task type and result.",
    ["task_type", "result"],
)
JOBS_ENDED = Counter(
    "twelve_jobs_ended_total", "Jobs that reached a terminal status here.", ["task_type", "status"]
)
JOBS_SUBMITTED = Counter(
    "twelve_jobs_submitted_total",
    "Jobs accepted, by task type and priority.",
    ["task_type", "priority"],
)
FALLBACKS = Counter(
    "twelve_fallbacks_total", "Requests served by a deployment after another failed.", ["model"]
)

CONNECTIONS_REFUSED = Counter(
    "twelve_connections_refused_total",
    "Connections answered and closed by the server before the app saw a request.",
    ["reason"],
)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


UPSTREAM_RETRIES = Counter(
    "twelve_upstream_retries_total",
    "Calls sent again to the same deployment after a failure, by the failure's kind.",
    ["deployment", "reason"],
)
REQUESTS_FINALISED = Counter(
    "twelve_requests_finalised_total",
    "Public requests by how they ended (ok, upstream_error, refused, client_gone, stream_failed).",
    ["endpoint", "outcome"],
)
USAGE_UNKNOWN = Counter(
    "twelve_usage_unknown_total",
    "Requests that reached an upstream but ended without a usage report.",
    ["endpoint"],
)
CREDIT_HOLDS = Counter(
    "twelve_credit_holds_total",
    "Credit holds at admission: placed, or refused (402 insufficient_quota).",
    ["result"],
)
CREDIT_SETTLEMENTS = Counter(
    "twelve_credit_settlements_total",
    "Holds ended: at the actual cost, at the hold (usage unknown), released, or overrun "
    "(actual above the hold: charged in full).",
    ["how"],
)
COST_MICROS = Counter(
    "twelve_cost_micros_total",
    "Micro-dollars charged, by model and customer.",
    ["model", "customer"],
)
UNPRICED_REQUESTS = Counter(
    "twelve_unpriced_requests_total",
    "Requests billed at 0 because no price is known for the model (and it is not free).",
    ["model"],
)
REJECTIONS = Counter(
    "twelve_rejections_total", "Requests refused before routing, by reason.", ["reason"]
)

# Routing and resilience (issue 9): what the gateway saw of each attempt and each deployment.
ROUTING_ATTEMPTS = Counter(
    "twelve_routing_attempts_total",
    "Upstream attempts made by routing, by deployment and outcome (ok, or the error's type: "
    "rate_limit, context_length, content_filter, timeout, upstream_5xx, connection, auth, ...).",
    ["deployment", "outcome"],
)
MODEL_FALLBACKS = Counter(
    "twelve_model_fallbacks_total",
    "Fallbacks to another model, by kind (failure, context_window, content_filter).",
    ["model", "to", "kind"],
)
RETRIES_REFUSED = Counter(
    "twelve_retries_refused_total",
    "Retries not made because the retry budget (a share of recent requests) was spent.",
    ["deployment"],
)
BREAKER_STATE = Gauge(
    "twelve_breaker_state",
    "Each deployment's circuit breaker: 0 closed, 1 open (ejected), 2 half-open (probing).",
    ["deployment"],
)
BREAKER_TRANSITIONS = Counter(
    "twelve_breaker_transitions_total",
    "Circuit-breaker state changes by deployment and the state entered.",
    ["deployment", "state"],
)
DEPLOYMENT_IN_FLIGHT = Gauge(
    "twelve_deployment_in_flight",
    "Requests in flight to each deployment (streams until they end), read at scrape time.",
    ["deployment"],
)
DEPLOYMENT_LATENCY = Gauge(
    "twelve_deployment_latency_seconds",
    "Moving average of each deployment's latency (to the first chunk when streaming), as the "
    "least-latency strategy sees it (read at scrape time).",
    ["deployment"],
)
USAGE_ROWS_DROPPED = Counter(
    "twelve_usage_rows_dropped_total",
    "Usage rows dropped because too many waited for the credits module (it was unreachable).",
)
WEBHOOK_ATTEMPTS = Counter(
    "twelve_webhook_attempts_total",
    "Webhook delivery attempts by outcome (delivered, failed and to be retried, dead).",
    ["outcome"],
)
EVENTS_DEAD = Counter(
    "twelve_events_dead_total",
    "Events a subscriber failed on too many times, copied to the dead-letter stream.",
    ["subscriber"],
)
HEALTH_CHECKS = Counter(
    "twelve_health_checks_total",
    "Active health checks of deployments by result (healthy, unhealthy, unsupported).",
    ["deployment", "result"],
)
HEALTH_CHECK_LATENCY = Histogram(
    "twelve_health_check_duration_seconds",
    "Time an active health check took, answered or not.",
    ["deployment"],
    buckets=LATENCY_BUCKETS,
)
DEPLOYMENT_HEALTH = Gauge(
    "twelve_deployment_health",
    "Each deployment's active health: 1 healthy, 0 unhealthy, -1 unknown (not checked yet, "
    "no cheap call, checks disabled or unsupported).",
    ["deployment"],
)
BREAKER_SHARED_EVENTS = Counter(
    "twelve_breaker_shared_events_total",
    "Breaker transitions shared through Redis: published by this process or applied from another "
    "(direction: published, applied).",
    ["direction"],
)
CACHE_REQUESTS = Counter(
    "twelve_cache_requests_total",
    "Prompt-cache lookups by model (configured models with a cache only) and result (hit, miss).",
    ["model", "result"],
)
