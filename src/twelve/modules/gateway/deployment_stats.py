"""What the gateway knows of each deployment from the attempts it made: its breaker, its retry
budget, its requests in flight and a moving average of its latency, plus whether the models
module's active health checks found it unhealthy. The strategies (`balancer.py`) read it, routing
writes it.

It lives in memory, one board per gateway process: every attempt passes through here, so it
costs no hop. Background tasks bring in what others know, never on a request's path: the active
health snapshot (`health_watch.py`) and, with Redis, other processes' breaker transitions
(`shared_breakers.py`, through `listener`, `adopt` and `restore`).
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic

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
        "unhealthy",
    )

    def __init__(self, deployment: DeploymentRef, breaker: BreakerSettings) -> None:
        self.breaker = Breaker(deployment.id, breaker)
        self.budget = RetryBudget()
        self.in_flight = 0
        # Seconds; None until the first answer (the strategy then tries it first, to learn).
        self.latency: float | None = None
        self.measured_at = 0.0
        # The active health check's verdict (Envoy's "unhealthy"), apart from the breaker's
        # passive outlier ejection: routing skips it like an ejected deployment.
        self.unhealthy = False
        # Read when /metrics is scraped: nothing to update per request.
        DEPLOYMENT_IN_FLIGHT.labels(deployment.id).set_function(lambda: self.in_flight)
        DEPLOYMENT_LATENCY.labels(deployment.id).set_function(lambda: self.latency or 0.0)
        self._outcomes: dict[str, Counter] = {}
        self._deployment = deployment.id

    def available(self, now: float) -> bool:
        """Whether routing may send a call here now: not actively unhealthy, breaker willing."""
        return not self.unhealthy and self.breaker.available(now)

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
        self._unhealthy: frozenset[str] = frozenset()
        # Other processes' ejections of deployments this one has not used yet: id -> (until, n).
        self._adopted: dict[str, tuple[float, int]] = {}
        self._listener: Callable[[Breaker], None] | None = None

    def of(self, deployment: DeploymentRef) -> DeploymentStats:
        stats = self._stats.get(deployment.id)
        if stats is None:
            settings = self._defaults.with_overrides(deployment.routing.breaker)
            stats = self._stats[deployment.id] = DeploymentStats(deployment, settings)
            stats.unhealthy = deployment.id in self._unhealthy
            stats.breaker.listener = self._listener
            adopted = self._adopted.pop(deployment.id, None)
            if adopted is not None:
                stats.breaker.adopt(adopted[0], adopted[1], monotonic())
        return stats

    def mark_unhealthy(self, deployments: frozenset[str]) -> None:
        """The deployments the latest active health snapshot found unhealthy (all others are
        not, or not known to be)."""
        self._unhealthy = deployments
        for deployment, stats in self._stats.items():
            stats.unhealthy = deployment in deployments

    @property
    def unhealthy(self) -> frozenset[str]:
        return self._unhealthy

    def listen(self, listener: Callable[[Breaker], None] | None) -> None:
        """Tell `listener` of every breaker's own ejections and closings, from now on."""
        self._listener = listener
        for stats in self._stats.values():
            stats.breaker.listener = listener

    def adopt(self, deployment: str, until: float, ejections: int, now: float) -> None:
        """Another process ejected `deployment` until `until` (this process's clock)."""
        stats = self._stats.get(deployment)
        if stats is not None:
            stats.breaker.adopt(until, ejections, now)
        elif until > now:
            self._adopted[deployment] = (until, ejections)

    def restore(self, deployment: str, now: float) -> None:
        """Another process found `deployment` healthy again (its probe succeeded)."""
        self._adopted.pop(deployment, None)
        stats = self._stats.get(deployment)
        if stats is not None:
            stats.breaker.restore(now)

    def snapshot(self) -> dict[str, DeploymentStats]:
        """Every deployment seen so far (for the admin models view)."""
        return dict(self._stats)
