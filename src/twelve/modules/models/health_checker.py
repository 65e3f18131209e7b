"""Active health checks: every checked deployment probed on its model's interval, in the
background of a serving process, and the latest results kept for `deployment_health()`.

One task per checked deployment, started by the models module's serve hook and cancelled by its
stop hook. Each task probes at once (so the gateway knows before the first request), then every
`interval_seconds` with ±10% jitter (so many processes do not probe in step). A deployment turns
unhealthy after `unhealthy_threshold` failed checks in a row and healthy after `healthy_threshold`
good ones (Envoy's thresholds; from `unknown`, one good check is enough): one lost packet does
not eject it. An upstream that does not serve
the path (404, 405, 501) stays `unknown`, logged once: no evidence either way.

Nothing here decides routing: the gateway reads the snapshot (`health_watch.py` there) and skips
the deployments marked unhealthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from time import monotonic

from twelve.kernel.http_client import HttpClient
from twelve.kernel.telemetry.metrics import DEPLOYMENT_HEALTH, HEALTH_CHECK_LATENCY, HEALTH_CHECKS
from twelve.modules.models.adapters.endpoint import Endpoint
from twelve.modules.models.adapters.health_probe import Probe, probe
from twelve.modules.models.api import DeploymentHealth, DeploymentRef
from twelve.modules.models.health_config import HealthCheckConfig

# A standard-library logger (as `loaded_models.py`): JSON through the process's log set-up when
# serving, plain stderr in a one-shot command (`twelve models`), never onto a command's stdout.
log = logging.getLogger("twelve.models.health")

_GAUGE = {"healthy": 1, "unhealthy": 0, "unknown": -1}
_JITTER = 0.1


@dataclass(frozen=True, slots=True)
class HealthTarget:
    """One deployment to check: its reference, its call target, its model's check settings and
    the path to GET (None: not checked, with `reason`)."""

    ref: DeploymentRef
    endpoint: Endpoint
    config: HealthCheckConfig
    path: str | None
    reason: str = ""


class _Tracker:
    """One deployment's results so far and the thresholds that turn them into a status."""

    def __init__(self, target: HealthTarget) -> None:
        self.target = target
        self.failures = 0
        self.successes = 0
        self.warned_unsupported = False
        checked = target.path is not None
        self.health = DeploymentHealth(
            deployment=target.ref.id,
            model=target.ref.model,
            detail="not checked yet" if checked else target.reason,
            interval_seconds=target.config.interval_seconds if checked else None,
        )
        DEPLOYMENT_HEALTH.labels(target.ref.id).set(-1)

    def record(self, result: Probe, seconds: float) -> None:
        target = self.target
        config = target.config
        status = self.health.status
        if result.result == "healthy":
            self.failures, self.successes = 0, self.successes + 1
            # From unknown one good check is enough (as Envoy treats a new host's first one).
            if status == "unknown" or self.successes >= config.healthy_threshold:
                status = "healthy"
        elif result.result == "unhealthy":
            self.failures, self.successes = self.failures + 1, 0
            if status != "unhealthy" and self.failures >= config.unhealthy_threshold:
                status = "unhealthy"
        else:
            self.failures = self.successes = 0
            status = "unknown"
            if not self.warned_unsupported:
                self.warned_unsupported = True
                log.warning(
                    "health check of deployment %s is not supported by its upstream: %s",
                    target.ref.id,
                    result.detail,
                )
        if status != self.health.status:
            log.warning("deployment %s is now %s (%s)", target.ref.id, status, result.detail)
        self.health = DeploymentHealth(
            deployment=target.ref.id,
            model=target.ref.model,
            status=status,
            detail=result.detail,
            checked_at=datetime.now(UTC),
            latency_seconds=round(seconds, 6),
            consecutive_failures=self.failures,
            interval_seconds=config.interval_seconds,
        )
        HEALTH_CHECKS.labels(target.ref.id, result.result).inc()
        HEALTH_CHECK_LATENCY.labels(target.ref.id).observe(seconds)
        DEPLOYMENT_HEALTH.labels(target.ref.id).set(_GAUGE[status])


class HealthChecker:
    """Runs the checks of `targets` through the process's pooled `http` client."""

    def __init__(
        self, http: HttpClient, targets: list[HealthTarget], rng: random.Random | None = None
    ) -> None:
        self._http = http
        self._trackers = [_Tracker(t) for t in targets]
        self._random = rng or random.Random()
        self._tasks: list[asyncio.Task[None]] = []

    def snapshot(self) -> list[DeploymentHealth]:
        return [tracker.health for tracker in self._trackers]

    async def start(self) -> None:
        for tracker in self._trackers:
            if tracker.target.path is not None:
                name = f"health-check:{tracker.target.ref.id}"
                self._tasks.append(asyncio.create_task(self._run(tracker), name=name))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def check_once(self) -> None:
        """Every checked deployment once, together (for tests and a fresh start)."""
        await asyncio.gather(*(self._check(t) for t in self._trackers if t.target.path is not None))

    async def _run(self, tracker: _Tracker) -> None:
        interval = tracker.target.config.interval_seconds
        while True:
            await self._check(tracker)
            spread = interval * _JITTER
            await asyncio.sleep(interval + self._random.uniform(-spread, spread))

    async def _check(self, tracker: _Tracker) -> None:
        target = tracker.target
        assert target.path is not None
        started = monotonic()
        try:
            result = await probe(
                self._http, target.endpoint, target.path, target.config.timeout_seconds
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            result = Probe("unhealthy", f"check failed ({type(exc).__name__})")
        tracker.record(result, monotonic() - started)
