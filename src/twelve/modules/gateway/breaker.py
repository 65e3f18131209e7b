"""A circuit breaker per deployment, with Envoy's outlier-detection semantics.

A deployment is ejected after `consecutive_failures` failures in a row (default 5), or when at
least `error_rate` of its calls failed over the last `window_seconds` (with `min_requests` calls
at least). While ejected it gets no traffic. When its ejection time is over, one call is let
through as a half-open probe (the others keep going elsewhere): a probe that succeeds closes the
breaker, one that fails ejects it again for longer. The ejection time is `base_ejection_seconds`
times the number of recent ejections, capped by `max_ejection_seconds`; each base period spent
healthy forgets one ejection (Envoy's `base_ejection_time` and `max_ejection_time`).

Only upstream failures count (5xx, timeouts, connection errors, an upstream 429, an upstream
refusing our credentials). The client's own errors (a bad request, a context too long, a filtered
prompt) and a client leaving count neither way: see `routing.py`.

Why not `purgatory` or `aiobreaker`: both let every call through while half-open (we want exactly
one probe per interval), neither has an error-rate trigger or a growing ejection time, and
aiobreaker's last release is from 2021. The state is a few numbers per deployment, kept in this
process. Other processes learn of it through `listener` (told of this process's own ejections and
closings, `shared_breakers.py` publishes them) and tell it theirs through `adopt` and `restore`,
which are not told to the listener again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from math import floor
from typing import Literal

from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import BREAKER_STATE, BREAKER_TRANSITIONS
from twelve.modules.models.api import BreakerOverrides

log = get_logger("twelve.gateway.breaker")

State = Literal["closed", "open", "half_open"]
_GAUGE: dict[State, int] = {"closed": 0, "open": 1, "half_open": 2}
_BUCKETS = 10  # the error-rate window, in this many slices


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    consecutive_failures: int = 5
    error_rate: float = 0.5
    min_requests: int = 20
    window_seconds: float = 10.0
    base_ejection_seconds: float = 30.0
    max_ejection_seconds: float = 300.0

    def with_overrides(self, overrides: BreakerOverrides) -> BreakerSettings:
        changed = {k: v for k, v in overrides.model_dump().items() if v is not None}
        return replace(self, **changed) if changed else self


class Breaker:
    """One deployment's breaker. Times are `time.monotonic()` seconds, passed in by the caller."""

    __slots__ = (
        "_buckets",
        "_consecutive",
        "_ejections",
        "_gauge",
        "_healthy_since",
        "_probing",
        "deployment",
        "ejected_at",
        "ejected_until",
        "ejections_total",
        "listener",
        "remote",
        "settings",
        "state",
    )

    def __init__(self, deployment: str, settings: BreakerSettings) -> None:
        self.deployment = deployment
        self.settings = settings
        self.state: State = "closed"
        self.ejected_at = 0.0
        self.ejected_until = 0.0
        self._consecutive = 0
        self._ejections = 0
        self._healthy_since = 0.0
        self._probing = False
        self.ejections_total = 0
        # Whether the current ejection was another process's (`adopt`).
        self.remote = False
        # Told of this process's own transitions to open and to closed (not of adopted ones).
        self.listener: Callable[[Breaker], None] | None = None
        # Per slice of the window: [slice number, calls, failures].
        self._buckets = [[-1, 0, 0] for _ in range(_BUCKETS)]
        self._gauge = BREAKER_STATE.labels(deployment)
        self._gauge.set(0)

    def available(self, now: float) -> bool:
        """Whether a call may go here now (without claiming the probe): for ordering."""
        if self.state == "closed":
            return True
        return not self._probing and now >= self.ejected_until

    def admit(self, now: float) -> bool:
        """Whether a call may go here now; a call admitted while ejected is the probe."""
        if self.state == "closed":
            return True
        if self._probing or now < self.ejected_until:
            return False
        self._probing = True
        self._move("half_open")
        return True

    def succeeded(self, now: float) -> None:
        self._count(now, failed=False)
        self._consecutive = 0
        if self.state != "closed":
            self._probing = False
            self._healthy_since = now
            self.remote = False
            self._move("closed")
            if self.listener is not None:
                self.listener(self)

    def failed(self, now: float, *, probe: bool = False) -> None:
        """A call failed; `probe`: it was the half-open probe (a call forced through while
        every deployment is ejected is not, and changes nothing)."""
        self._count(now, failed=True)
        self._consecutive += 1
        if self.state != "closed":
            if probe:  # the probe failed: out again, for longer
                self._probing = False
                self._eject(now, "probe_failed")
            return
        settings = self.settings
        if self._consecutive >= settings.consecutive_failures:
            self._eject(now, "consecutive_failures")
            return
        calls, failures = self._window(now)
        if calls >= settings.min_requests and failures >= settings.error_rate * calls:
            self._eject(now, "error_rate")

    @property
    def recent_ejections(self) -> int:
        """Ejections not yet forgotten: the next one lasts this many base periods plus one."""
        return self._ejections

    def adopt(self, until: float, ejections: int, now: float) -> None:
        """Another process ejected this deployment until `until` (this process's clock): eject
        it here too, unless it already is for longer. Not told to the listener."""
        if until <= now or (self.state != "closed" and until <= self.ejected_until):
            return
        self._ejections = max(self._ejections, ejections)
        self.ejected_at = now
        self.ejected_until = until
        self._consecutive = 0
        self.remote = True
        self._move("open")

    def restore(self, now: float) -> None:
        """Another process's probe found the deployment healthy: close here too (a probe of ours
        in flight still tells its own result)."""
        if self.state == "closed" or self._probing:
            return
        self._healthy_since = now
        self.remote = False
        self._move("closed")

    def released(self) -> None:
        """The call ended neither way (the client's own error, the client left): a probe that
        told nothing lets the next call probe."""
        self._probing = False

    def _eject(self, now: float, reason: str) -> None:
        settings = self.settings
        if self.state == "closed":
            # Each base period spent healthy since the last ejection forgets one of them.
            healed = floor((now - self._healthy_since) / settings.base_ejection_seconds)
            self._ejections = max(0, self._ejections - healed)
        self._ejections += 1
        seconds = min(
            settings.base_ejection_seconds * self._ejections, settings.max_ejection_seconds
        )
        self.ejected_at = now
        self.ejected_until = now + seconds
        self.ejections_total += 1
        self._consecutive = 0
        self._buckets = [[-1, 0, 0] for _ in range(_BUCKETS)]
        self.remote = False
        log.warning(
            "deployment_ejected", deployment=self.deployment, reason=reason, seconds=seconds
        )
        self._move("open")
        if self.listener is not None:
            self.listener(self)

    def _move(self, state: State) -> None:
        if state == self.state:
            return
        self.state = state
        self._gauge.set(_GAUGE[state])
        BREAKER_TRANSITIONS.labels(self.deployment, state).inc()

    def _count(self, now: float, *, failed: bool) -> None:
        slice_number = int(now / (self.settings.window_seconds / _BUCKETS))
        bucket = self._buckets[slice_number % _BUCKETS]
        if bucket[0] != slice_number:
            bucket[0], bucket[1], bucket[2] = slice_number, 0, 0
        bucket[1] += 1
        bucket[2] += failed

    def _window(self, now: float) -> tuple[int, int]:
        current = int(now / (self.settings.window_seconds / _BUCKETS))
        calls = failures = 0
        for number, bucket_calls, bucket_failures in self._buckets:
            if current - number < _BUCKETS:
                calls += bucket_calls
                failures += bucket_failures
        return calls, failures
