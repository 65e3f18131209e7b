"""The measured cases, and one measurement of one case against one target.

Each measurement records the load generator's figures and the CPU time that every process under
test spent during it (utime + stime from /proc/<pid>/stat), per completed request.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from bench import ttfb, wrk
from bench.procs import Service
from bench.targets import CHAT_PATH, MODEL, Target


@dataclass(frozen=True)
class Case:
    name: str
    conns: int
    stream: bool
    first_byte: bool = False  # time to first byte (own client) instead of a wrk run


CASES = (
    Case("chat c=1", 1, stream=False),
    Case("chat c=16", 16, stream=False),
    Case("chat c=64", 64, stream=False),
    Case("stream c=16", 16, stream=True),
    Case("stream TTFB c=1", 1, stream=True, first_byte=True),
)


def _per_request(before: dict[str, float], services: list[Service], done: int) -> dict[str, Any]:
    return {
        s.name: round((s.cpu_seconds() - before[s.name]) * 1000 / done, 3) if done else None
        for s in services
    }


def measure(case: Case, target: Target, upstream: Service, seconds: int) -> dict[str, Any]:
    """One bounded run of `case` against `target`: figures and CPU ms per request per process."""
    services = [target.service] if target.service is upstream else [target.service, upstream]
    before = {s.name: s.cpu_seconds() for s in services}
    if case.first_byte:
        samples = ttfb.measure(
            target.port, CHAT_PATH, key=target.key, model=MODEL, requests=2000, seconds=seconds
        )
        ordered = sorted(samples)
        return {
            "requests": len(samples),
            "ttfb_p50_ms": round(statistics.median(samples), 3),
            "ttfb_p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 3),
            "cpu_ms_per_request": _per_request(before, services, len(samples)),
        }
    result = wrk.run(
        target.url,
        key=target.key,
        model=MODEL,
        stream=case.stream,
        conns=case.conns,
        seconds=seconds,
    )
    cpu = _per_request(before, services, result.requests)
    cpu["wrk"] = round(result.cpu_ms / result.requests, 3) if result.requests else None
    return {
        "requests": result.requests,
        "rps": result.rps,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "errors": result.errors,
        "raw_latency": result.raw_latency,
        "cpu_ms_per_request": cpu,
    }
