"""What the gateway knows of each deployment from the attempts it made: its breaker, its retry
budget, its requests in flight and a moving average of its latency. The strategies
(`balancer.py`) read it, routing writes it.

It lives in memory, one board per gateway process: every attempt passes through here, so it
costs no hop. Each process learns on its own (Redis sharing of breaker state is a later step).
"""

from __future__ import annotations

from prometheus_client import Counter

from twelve.kernel.telemetry.metrics import (
    DEPLOYMENT_IN_FLIGHT,
    DEPLOYMENT_LATENCY,
    ROUTING_ATTEMPTS,
)
from twelve.modules.gateway.breaker import Breaker, BreakerSettings
from twelve.modules.gateway.retry_budget import RetryBudget
from twelve.modules.models.api import DeploymentRef

# The weight of the newest sample in the latency average (EWMA): about the last 5 calls count.
LATENCY_SMOOTHING = 0.3
# A latency average older than this is forgotten: least-latency sends the deployment a request
# again to measure it, so one that was slow once is not shunned forever.
LATENCY_MEMORY_SECONDS = 30.0


class DeploymentStats:
    __slots__ = (
        "_deployment",
        "_outcomes",
        "breaker",
        "budget",
        "in_flight",
        "latency",
        "measured_at",
    )

    def __init__(self, deployment: DeploymentRef, breaker: BreakerSettings) -> None:
        self.breaker = Breaker(deployment.id, breaker)
        self.budget = RetryBudget()
        self.in_flight = 0
        # Seconds; None until the first answer (the strategy then tries it first, to learn).
        self.latency: float | None = None
        self.measured_at = 0.0
        # Read when /metrics is scraped: nothing to update per request.
        DEPLOYMENT_IN_FLIGHT.labels(deployment.id).set_function(lambda: self.in_flight)
        DEPLOYMENT_LATENCY.labels(deployment.id).set_function(lambda: self.latency or 0.0)
        self._outcomes: dict[str, Counter] = {}
        self._deployment = deployment.id

    def begin(self) -> None:
        self.in_flight += 1

    def end(self) -> None:
        self.in_flight -= 1

    def answered_after(self, seconds: float, now: float) -> None:
        self.measured_at = now
        previous = self.latency
        self.latency = (
            seconds if previous is None else previous + LATENCY_SMOOTHING * (seconds - previous)
        )

    def latency_at(self, now: float) -> float | None:
        """The latency average, or None when there is none or it is too old to trust."""
        if now - self.measured_at > LATENCY_MEMORY_SECONDS:
            return None
        return self.latency

    def count(self, outcome: str) -> None:
        counter = self._outcomes.get(outcome)
        if counter is None:
            counter = self._outcomes[outcome] = ROUTING_ATTEMPTS.labels(self._deployment, outcome)
        counter.inc()


class StatsBoard:
    """Every deployment's stats, made on first use with its model's breaker settings."""

    def __init__(self, breaker_defaults: BreakerSettings | None = None) -> None:
        self._defaults = breaker_defaults or BreakerSettings()
        self._stats: dict[str, DeploymentStats] = {}

    def of(self, deployment: DeploymentRef) -> DeploymentStats:
        stats = self._stats.get(deployment.id)
        if stats is None:
            settings = self._defaults.with_overrides(deployment.routing.breaker)
            stats = self._stats[deployment.id] = DeploymentStats(deployment, settings)
        return stats

    def snapshot(self) -> dict[str, DeploymentStats]:
        """Every deployment seen so far (for the admin models view)."""
        return dict(self._stats)
