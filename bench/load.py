"""The load generator: N workers share one pooled aiohttp session and a request budget.

A case stops issuing requests when either its request count or its time limit is reached; requests
already in flight finish (each bounded by its own timeout). Every latency is kept, so percentiles
are computed from the full sample list.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from time import perf_counter

import aiohttp

_DONE_MARK = b"[DONE]"
_MAX_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class Request:
    """One prepared request: sent identically by every worker."""

    url: str
    headers: dict[str, str]
    body: bytes
    stream: bool


@dataclass
class Samples:
    """What one case measured. Latencies and TTFBs are in seconds, successful requests only."""

    latencies: list[float] = field(default_factory=list)
    ttfb: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    issued: int = 0
    elapsed: float = 0.0

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < _MAX_ERROR_SAMPLES:
            self.error_samples.append(message)


async def _one(session: aiohttp.ClientSession, request: Request, out: Samples) -> None:
    started = perf_counter()
    try:
        async with session.post(request.url, data=request.body, headers=request.headers) as resp:
            if not request.stream:
                payload = await resp.read()
                finished = perf_counter()
                if resp.status != 200:
                    out.error(f"HTTP {resp.status}: {payload[:200]!r}")
                    return
                out.latencies.append(finished - started)
                return
            first: float | None = None
            tail = b""
            async for chunk in resp.content.iter_any():
                if first is None:
                    first = perf_counter()
                tail = (tail + chunk)[-64:]
            finished = perf_counter()
            if resp.status != 200:
                out.error(f"HTTP {resp.status}: {tail!r}")
            elif first is None or _DONE_MARK not in tail:
                out.error(f"stream ended without [DONE]: {tail!r}")
            else:
                out.ttfb.append(first - started)
                out.latencies.append(finished - started)
    except (aiohttp.ClientError, TimeoutError) as exc:
        out.error(f"{type(exc).__name__}: {exc}")


async def run_case(
    session: aiohttp.ClientSession,
    request: Request,
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
) -> Samples:
    """Drive `request` with `concurrency` workers until `max_requests` or `max_seconds`."""
    if concurrency < 1 or max_requests < 1 or max_seconds <= 0:
        raise ValueError("concurrency, max_requests and max_seconds must be positive")
    out = Samples()
    start = perf_counter()
    deadline = start + max_seconds

    async def worker() -> None:
        while out.issued < max_requests and perf_counter() < deadline:
            out.issued += 1
            await _one(session, request, out)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, max_requests)):
            group.create_task(worker())
    out.elapsed = perf_counter() - start
    return out
