"""The CPU that telemetry costs one request, measured in-process (no server, no network).

    python -m bench.telemetry [--requests 20000]

Does per request what the edge and the models adapter do: continue a client's `traceparent`,
open the server span and a client span, inject `traceparent` for the upstream, bind the request
id and trace id, set the span's attributes, and log the access line at INFO (rendered and
written to /dev/null by the log writer), plus one DEBUG call that the level filters out. Prints
the CPU microseconds per request, the writer thread's work included. Steadier than the CPU
columns of `make bench` on a shared machine, because nothing else runs in between.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import structlog
from opentelemetry import context, trace

from twelve.kernel.telemetry import tracing
from twelve.kernel.telemetry.logging import get_logger, setup_logging, shutdown_logging

HEADERS = {"traceparent": "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"}


def one_request(tracer: trace.Tracer, log: structlog.stdlib.BoundLogger) -> None:
    token = context.attach(tracing.extract(HEADERS))
    try:
        with tracer.start_as_current_span("POST", kind=trace.SpanKind.SERVER) as span:
            structlog.contextvars.bind_contextvars(
                request_id="req_0123", trace_id=tracing.current_trace_id()
            )
            upstream = tracer.start_span("chat", kind=trace.SpanKind.CLIENT)
            inner = context.attach(trace.set_span_in_context(upstream))
            tracing.inject({})
            context.detach(inner)
            upstream.end()
            span.update_name("POST /v1/chat/completions")
            span.set_attribute("http.route", "/v1/chat/completions")
            span.set_attribute("http.response.status_code", 200)
            log.debug("filtered", detail="not rendered")
            log.info("request", method="POST", path="/v1/chat/completions", status=200)
    finally:
        structlog.contextvars.clear_contextvars()
        context.detach(token)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.telemetry")
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    with Path("/dev/null").open("w") as sink:
        setup_logging("INFO", stream=sink)
        tracing.setup_tracing()
        tracer, log = tracing.tracer("bench"), get_logger("bench")
        for _ in range(1000):  # warm-up
            one_request(tracer, log)
        started = time.process_time()
        for _ in range(args.requests):
            one_request(tracer, log)
        shutdown_logging()  # the writer's rendering is part of the cost
        used = time.process_time() - started
    print(f"telemetry: {used / args.requests * 1e6:.1f} µs CPU per request")


if __name__ == "__main__":
    main()
