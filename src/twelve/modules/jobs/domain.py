"""Pure rules of jobs: priorities, backoff, which errors are worth another attempt."""

from __future__ import annotations

import random

from twelve.modules.jobs.api import JobStatus, Priority

# DBOS dequeues the lowest number first.
PRIORITY_RANK: dict[Priority, int] = {"high": 1, "standard": 2, "low": 3}
TERMINAL: frozenset[JobStatus] = frozenset({"succeeded", "failed", "dead", "cancelled"})
# Statuses a worker may still move forward.
OPEN: tuple[JobStatus, ...] = ("queued", "running")

# HTTP statuses of a failed attempt that another attempt may fix: timeouts, limits, upstream
# trouble. Anything else (bad request, no such model, no credits) fails the job at once.
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


def backoff_seconds(attempt: int, base: float, cap: float, rand: float | None = None) -> float:
    """Full-jitter exponential backoff after failed `attempt` (1-based)."""
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    return float(ceiling * (random.random() if rand is None else rand))


def retryable(status: int | None) -> bool:
    return status is None or status in RETRYABLE_STATUSES
