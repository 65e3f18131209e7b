"""The one place a request ends: exactly once, whatever way it ends, shielded from cancellation.

`finish` is synchronous up to the point of no return: it marks the exchange finished, meters the
final usage (or counts it as unknown) and counts the outcome before it awaits anything, so a
cancellation cannot undo or repeat it. What the admission stages took is then given back in a
task of its own (latest stage first), which a cancelled caller does not cancel. The request's
usage row then goes to the usage meter (a synchronous append), since the credit hold's settle
says what was charged; a request whose stages took nothing is metered at once, with no task.

The request's metrics (`metering.py`: latency, overhead, tokens, then cost once settled) are
recorded here, and its `post_processing` span covers the metering and the settling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from opentelemetry import trace

from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import REQUESTS_FINALISED, USAGE_UNKNOWN
from twelve.kernel.telemetry.tracing import tracer
from twelve.modules.gateway.exchange import Exchange, Outcome
from twelve.modules.gateway.metering import in_flight, record_cost, record_end, record_usage

log = get_logger("twelve.gateway.finaliser")
_TRACER = tracer(__name__)


class Finaliser:
    def __init__(self, meter: Callable[[Exchange], None] | None = None) -> None:
        """`meter`: takes each ended exchange's usage row (synchronously, never raising)."""
        self._meter = meter
        # Settling tasks still running: held so that they are not garbage-collected mid-way.
        self._settling: set[asyncio.Task[None]] = set()

    async def finish(self, exchange: Exchange, outcome: Outcome) -> None:
        """End `exchange` with `outcome` (unless it has ended already) and wait for its settling,
        unless the caller is cancelled meanwhile: the settling goes on regardless."""
        self.finish_soon(exchange, outcome)
        if exchange.settling is not None:
            await asyncio.shield(exchange.settling)

    def finish_soon(self, exchange: Exchange, outcome: Outcome) -> None:
        """End `exchange` now; its settling runs in a task of its own (`exchange.settling`)."""
        if exchange.outcome is not None:
            return
        exchange.outcome = outcome
        name = exchange.endpoint.name
        span = _post_processing(outcome)
        REQUESTS_FINALISED.labels(name, outcome).inc()
        in_flight(exchange).dec()
        record_end(exchange)
        if exchange.usage is not None:
            record_usage(exchange, exchange.usage)
        elif exchange.dispatched:
            USAGE_UNKNOWN.labels(name).inc()
        if exchange.settles:
            task = asyncio.get_running_loop().create_task(self._settle(exchange, span))
            self._settling.add(task)
            task.add_done_callback(self._settling.discard)
            exchange.settling = task
        else:
            if self._meter is not None:
                self._meter(exchange)
            span.end()

    async def _settle(self, exchange: Exchange, span: trace.Span) -> None:
        try:
            for settle in reversed(exchange.settles):
                try:
                    await settle(exchange)
                except Exception:  # one stage failing to settle must not stop the others
                    log.exception("settle_failed", endpoint=exchange.endpoint.name)
            record_cost(exchange)
            if self._meter is not None:
                self._meter(exchange)
        finally:
            span.end()


def _post_processing(outcome: Outcome) -> trace.Span:
    """The request's `post_processing` span, when its trace is recorded (else a no-op span)."""
    if not trace.get_current_span().is_recording():
        return trace.INVALID_SPAN
    return _TRACER.start_span("post_processing", attributes={"twelve.outcome": outcome})
