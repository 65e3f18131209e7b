"""Runs a model's work off the event loop, a bounded number at a time, with a bounded queue.

Inference is CPU-bound: it runs on worker threads (ONNX Runtime releases the GIL), so the event
loop keeps answering `/healthz` under load. Each model has its own runner: `concurrency` calls at
once, `max_waiting` more queued, and past that `Overloaded` (a 503 with Retry-After), so a burst
cannot pile up memory or time without bound.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from prometheus_client import CollectorRegistry, Gauge, Histogram

T = TypeVar("T")


class Overloaded(Exception):
    def __init__(self, model: str, retry_after: int) -> None:
        super().__init__(f"The local model {model!r} is busy; try again in {retry_after} s.")
        self.retry_after = retry_after


class Telemetry:
    """The sidecar's own metrics registry (it is not the gateway's process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "twelve_sidecar_inference_seconds",
            "Time a model spent on one request (excluding the wait).",
            ["model"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.waiting = Gauge(
            "twelve_sidecar_queue_depth",
            "Requests waiting for a model.",
            ["model"],
            registry=self.registry,
        )


class ModelRunner:
    def __init__(
        self, model: str, telemetry: Telemetry, *, concurrency: int, max_waiting: int
    ) -> None:
        self.model = model
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix=f"sidecar-{model}")
        self._slots = asyncio.Semaphore(concurrency)
        self._max_waiting = max_waiting
        self._waiting = 0
        self._telemetry = telemetry
        self._recent = 1.0  # seconds one call took lately: the Retry-After estimate

    async def run(self, work: Callable[[], T]) -> T:
        if self._slots.locked() and self._waiting >= self._max_waiting:
            raise Overloaded(self.model, max(1, round(self._recent * (self._waiting + 1))))
        self._waiting += 1
        self._telemetry.waiting.labels(self.model).set(self._waiting)
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
            self._telemetry.waiting.labels(self.model).set(self._waiting)
        try:
            started = time.perf_counter()
            result = await asyncio.get_running_loop().run_in_executor(self._pool, work)
            spent = time.perf_counter() - started
            self._recent = 0.7 * self._recent + 0.3 * spent
            self._telemetry.latency.labels(self.model).observe(spent)
            return result
        finally:
            self._slots.release()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
