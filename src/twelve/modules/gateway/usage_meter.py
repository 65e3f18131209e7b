"""The usage meter: one usage row per finished request, kept in memory and written in batches.

The finaliser hands each request that reached an upstream to `record`, a synchronous append (no
task, no await, no database on the request's path). A background task (started in serving
processes, `start`) sends the rows to the credits module's `UsageService` every `flush_seconds`,
or sooner once `batch_rows` have queued up. A batch that fails is sent again, the same rows with
the same request ids, until it is stored: the usage table skips ids it knows, so a batch whose
answer was lost is not stored twice. While the credits module cannot be reached the rows wait, at
most `max_rows` of them: past that the oldest waiting row is dropped, counted and logged.
`stop` sends what is left, for a bounded time.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import deque

import structlog

from twelve.kernel.errors import TwelveError
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import USAGE_ROWS_DROPPED
from twelve.modules.credits.api import UsageRecord, UsageService
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.stages.unit_cost import usage_units

log = get_logger("twelve.gateway.usage_meter")

# A failing flush is tried again after this, doubling up to the most.
_RETRY_SECONDS = 1.0
_RETRY_MAX_SECONDS = 30.0


class UsageMeter:
    def __init__(
        self,
        usage: UsageService,
        *,
        flush_seconds: float = 1.0,
        batch_rows: int = 500,
        max_rows: int = 100_000,
        stop_seconds: float = 5.0,
    ) -> None:
        self._usage = usage
        self._flush_seconds = flush_seconds
        self._batch_rows = batch_rows
        self._max_rows = max_rows
        self._stop_seconds = stop_seconds
        self._waiting: deque[UsageRecord] = deque()
        # The batch being sent (and sent again after a failure): its rows are no longer waiting.
        self._sending: list[UsageRecord] = []
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def record(self, exchange: Exchange) -> None:
        """Queue the usage row of `exchange`, which has ended. Refused requests (a bad key, no
        credits, a rate limit) never reached an upstream: they are not usage."""
        principal = exchange.principal
        hit = exchange.cached is not None
        if not (exchange.dispatched or hit) or principal is None:
            return
        usage = exchange.usage or {}
        # Images, seconds and characters as the unit cost reads them from the same usage.
        images, seconds, characters = usage_units(usage) or (0.0, 0.0, 0.0)
        deployment = exchange.deployment
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        row = UsageRecord.model_construct(  # from values the pipeline made: no validation
            request_id=str(request_id or f"req_{secrets.token_hex(12)}"),
            customer_id=principal.customer_id,
            key_id=principal.key_id,
            model=exchange.model,
            deployment=deployment.id if deployment is not None else "",
            endpoint=exchange.endpoint.name,
            # A prompt-cache hit's row says so (its tokens are the cached answer's).
            outcome="cached" if hit and exchange.outcome == "ok" else exchange.outcome or "ok",
            input_tokens=_tokens(usage.get("prompt_tokens")),
            output_tokens=_tokens(usage.get("completion_tokens")),
            images=round(images),
            audio_seconds=seconds,
            characters=round(characters),
            cost_micros=exchange.charged_micros or 0,
            unpriced=exchange.unpriced,
            usage_unknown=exchange.usage is None,
            at=time.time(),
        )
        if len(self._waiting) + len(self._sending) >= self._max_rows:
            lost = self._waiting.popleft() if self._waiting else row
            self.dropped += 1
            USAGE_ROWS_DROPPED.inc()
            log.warning(
                "usage_row_dropped",
                request_id=lost.request_id,
                waiting=self._max_rows,
                dropped=self.dropped,
            )
            if lost is row:
                return
        self._waiting.append(row)
        if len(self._waiting) >= self._batch_rows:
            self._full.set()

    @property
    def waiting(self) -> int:
        """Rows not yet stored (waiting, or in a batch being sent)."""
        return len(self._waiting) + len(self._sending)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the background task, then send what is left (for `stop_seconds` at most)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            async with asyncio.timeout(self._stop_seconds):
                while self.waiting:
                    if not await self.flush():
                        await asyncio.sleep(_RETRY_SECONDS / 4)
        except TimeoutError:
            log.warning("usage_rows_lost_at_stop", rows=self.waiting)

    async def flush(self) -> bool:
        """Send one batch; False when it failed (its rows stay, to be sent again)."""
        if not self._sending:
            take = min(self._batch_rows, len(self._waiting))
            self._sending = [self._waiting.popleft() for _ in range(take)]
        if not self._sending:
            return True
        try:
            await self._usage.record_usage(self._sending)
        except Exception as exc:
            log.warning(
                "usage_flush_failed", rows=len(self._sending), cause=f"{type(exc).__name__}: {exc}"
            )
            if isinstance(exc, TwelveError) and exc.status == 413 and len(self._sending) > 1:
                # A remote credits module with a small body limit: send halves, never give up.
                half = len(self._sending) // 2
                self._waiting.extendleft(reversed(self._sending[half:]))
                self._sending = self._sending[:half]
            return False
        self._sending = []
        return True

    async def _run(self) -> None:
        backoff = 0.0  # after a failed flush: wait this long, whatever queues up meanwhile
        while True:
            if backoff:
                await asyncio.sleep(backoff)
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._flush_seconds):
                        await self._full.wait()
            self._full.clear()
            failed = False
            while self.waiting:
                if not await self.flush():
                    failed = True
                    break
                if len(self._waiting) < self._batch_rows:
                    break
            backoff = min(max(backoff * 2, _RETRY_SECONDS), _RETRY_MAX_SECONDS) if failed else 0.0


def _tokens(value: object) -> int:
    return value if isinstance(value, int) and value > 0 else 0
