"""Routing: which deployments one request tries, in which order, how often, within one deadline.

The requested model's plan is ordered by its strategy (`balancer.py`), healthy deployments first.
Each deployment is tried unless its breaker has ejected it (`breaker.py`) or the models module's
active health checks found it unhealthy (`health_watch.py`); a retryable failure is
retried on the same deployment (`retry_policy.py`) while the retry budget allows
(`retry_budget.py`), then the next deployment takes over. When every deployment has failed, or
the request is too long for the model, or its upstream filtered the content, the model's
fallbacks take over (`fallbacks.py`), each an other model's plan tried the same way. When every
deployment everywhere is ejected, the one ejected longest ago is tried anyway rather than failing
the request unheard.

Errors that are the client's own (a bad request) end routing at once: another deployment would
fail the same way. A stream is "called" only up to its first chunk, so nothing is retried after
the first byte reaches the client. One overall deadline bounds every try, wait and fallback. An
error that leaves here names the last deployment tried, in its message and in the routing headers,
and `x-twelve-attempts` counts every attempt, across fallbacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from time import monotonic
from typing import Generic, TypeVar

from opentelemetry import trace

from twelve.kernel.errors import TwelveError, UpstreamError, UpstreamTimeout
from twelve.kernel.rpc_wire import deadline_within
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import (
    FALLBACKS,
    MODEL_FALLBACKS,
    RETRIES_REFUSED,
    UPSTREAM_RETRIES,
)
from twelve.kernel.telemetry.tracing import tracer
from twelve.modules.gateway.balancer import Balancer
from twelve.modules.gateway.deployment_stats import StatsBoard
from twelve.modules.gateway.fallbacks import ContextWindows, RequestLength, fitting
from twelve.modules.gateway.retry_policy import RetryPolicy
from twelve.modules.gateway.stages.price_list import PriceList, catalogue_path
from twelve.modules.models.api import Capability, DeploymentRef, JSONObject

__all__ = ["RetryPolicy", "Routed", "Router", "route", "routing_headers"]

T = TypeVar("T")
log = get_logger("twelve.gateway.routing")
_TRACER = tracer(__name__)

# Failures another deployment may not share: its own key, its own limits, its own outage.
_FALL_BACK_ON = frozenset({"auth", "rate_limit", "upstream_5xx", "timeout", "connection"})
# What a breaker counts as the deployment failing: the same. The client's own errors (a bad
# request, a context too long, filtered content) say nothing about the deployment's health.
_UPSTREAM_FAULTS = _FALL_BACK_ON

Plans = Callable[[str, Capability], Awaitable[list[DeploymentRef]]]


@dataclass(frozen=True, slots=True)
class Routed(Generic[T]):
    result: T
    deployment: DeploymentRef
    attempts: int


def routing_headers(deployment: DeploymentRef, attempts: int) -> dict[str, str]:
    return {
        "x-twelve-model": deployment.model,
        "x-twelve-deployment": deployment.id,
        "x-twelve-provider": deployment.provider,
        "x-twelve-attempts": str(attempts),
    }


@dataclass(slots=True)
class _Tried:
    """The deployment being tried, the attempts so far and what was skipped: what a failure
    reports, and where a request whose every deployment is ejected goes anyway."""

    deployment: DeploymentRef
    attempts: int = 0
    last: UpstreamError | None = None
    skipped: list[DeploymentRef] = field(default_factory=list)


class Router:
    """Routes requests over plans, remembering each deployment's health between them."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        stats: StatsBoard | None = None,
        prices: PriceList | None = None,
        windows: ContextWindows | None = None,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.policy = policy
        self.stats = stats or StatsBoard()
        self.balancer = Balancer(self.stats, prices or PriceList(catalogue_path()))
        self.windows = windows or ContextWindows(catalogue_path())
        self._clock = clock
        self._policies: dict[str, RetryPolicy] = {}

    async def route(
        self,
        plan: list[DeploymentRef],
        call: Callable[[DeploymentRef], Awaitable[T]],
        *,
        plans: Plans | None = None,
        capability: Capability = "chat",
        body: JSONObject | None = None,
    ) -> Routed[T]:
        """Route one request whose model's plan is `plan`; `plans` gives fallback models' plans,
        `body` the request (for its length)."""
        assert plan, "a routing plan is never empty"
        deadline_seconds = self.policy.deadline_seconds
        deadline = asyncio.timeout(deadline_seconds)
        tried = _Tried(plan[0])
        # The routing decision's span, parent of the upstream calls' spans: only when spans are
        # recorded (a server span that records), so that it costs nothing otherwise.
        traced = trace.get_current_span().is_recording()
        span = _TRACER.start_span("twelve.route", attributes=_span_start(plan)) if traced else None
        try:
            # Calls to modules in other processes carry the time left (`x-twelve-deadline`).
            with (
                trace.use_span(span, end_on_exit=False) if span else nullcontext(),
                deadline_within(deadline_seconds),
            ):
                async with deadline:
                    return await self._route(plan, call, plans, capability, body, tried)
        except TimeoutError:
            if not deadline.expired():
                raise
            late = UpstreamTimeout(
                f"No deployment answered within the {deadline_seconds:g} s deadline."
            )
            raise _as_client_sees_it(late, tried.deployment, tried.attempts) from None
        finally:
            if span is not None:
                span.set_attribute("twelve.deployment", tried.deployment.id)
                span.set_attribute("twelve.attempts", tried.attempts)
                span.set_attribute("twelve.skipped", [d.id for d in tried.skipped])
                span.end()

    def hold(self, deployment: DeploymentRef) -> Callable[[], None]:
        """Count a stream as in flight on `deployment` until the returned callable is called."""
        stats = self.stats.of(deployment)
        stats.begin()
        return stats.end

    async def _route(
        self,
        plan: list[DeploymentRef],
        call: Callable[[DeploymentRef], Awaitable[T]],
        plans: Plans | None,
        capability: Capability,
        body: JSONObject | None,
        tried: _Tried,
    ) -> Routed[T]:
        requested, routing = plan[0].model, plan[0].routing
        legs: list[tuple[str, str]] = [(requested, "")]
        legs += [(m, "failure") for m in routing.fallbacks]
        visited: set[str] = set()
        switched: set[str] = set()  # the special lists already taken (each at most once)
        length = RequestLength(body)
        while legs:
            model, kind = legs.pop(0)
            if model in visited:
                continue
            leg = plan if model == requested else await _plan_of(plans, model, capability)
            if leg is None:
                continue
            visited.add(model)
            candidates = await fitting(leg, self.windows, length)
            if not candidates:
                if model == requested and routing.context_window_fallbacks:
                    switched.add("context")
                    legs = [(m, "context_window") for m in routing.context_window_fallbacks]
                    continue
                if model != requested and legs:  # a fallback too small too: the next one
                    continue
                candidates = leg  # nowhere larger to go: the upstream decides
            if kind:
                MODEL_FALLBACKS.labels(requested, model, kind).inc()
            try:
                routed = await self._try_plan(candidates, call, tried, forced=False)
            except UpstreamError as exc:
                if exc.kind == "context_length" and "context" not in switched:
                    next_kind, targets = "context_window", routing.context_window_fallbacks
                    switched.add("context")
                elif exc.kind == "content_filter" and "filter" not in switched:
                    next_kind, targets = "content_filter", routing.content_filter_fallbacks
                    switched.add("filter")
                else:
                    raise _as_client_sees_it(exc, tried.deployment, tried.attempts) from None
                if not targets:
                    raise _as_client_sees_it(exc, tried.deployment, tried.attempts) from None
                tried.last = exc
                legs = [(m, next_kind) for m in targets]
                continue
            if routed is not None:
                return routed
        if tried.attempts == 0:
            # Every deployment is ejected: the one ejected longest ago is the likeliest healed.
            # (Or no fallback model could take the request: the model's own plan, then.)
            last_resort = tried.skipped or plan
            # Ones the health checks did not find unhealthy before those they did.
            oldest = min(last_resort, key=self._last_resort_key)
            try:
                routed = await self._try_plan([oldest], call, tried, forced=True)
            except UpstreamError as exc:
                raise _as_client_sees_it(exc, tried.deployment, tried.attempts) from None
            if routed is not None:
                return routed
        assert tried.last is not None
        raise _as_client_sees_it(tried.last, tried.deployment, tried.attempts) from None

    async def _try_plan(
        self,
        plan: list[DeploymentRef],
        call: Callable[[DeploymentRef], Awaitable[T]],
        tried: _Tried,
        *,
        forced: bool,
    ) -> Routed[T] | None:
        """The first answer from `plan`'s deployments, or None when they all failed in a way
        another model may not share. Raises the client's own errors (`UpstreamError`)."""
        clock = self._clock
        for position, deployment in enumerate(self.balancer.order(plan, clock())):
            stats = self.stats.of(deployment)
            breaker = stats.breaker
            probe = False
            if not forced:
                # Actively unhealthy (the health checks) or ejected (the breaker): skipped.
                if stats.unhealthy or not breaker.admit(clock()):
                    tried.skipped.append(deployment)
                    continue
                probe = breaker.state != "closed"
            policy = self._policy(deployment)
            tried.deployment = deployment
            stats.budget.requested(clock())
            retry = 0
            while True:
                tried.attempts += 1
                try:
                    result = await self._attempt(deployment, call, probe)
                except UpstreamError as exc:
                    tried.last = exc
                    log.warning(
                        "upstream_failed",
                        deployment=deployment.id,
                        kind=exc.kind,
                        status=exc.status,
                        attempt=tried.attempts,
                        error=exc.message,
                    )
                    probe = False  # a probe is one call
                    wait = policy.wait_before_retry(exc, deployment, retry)
                    if wait is not None and (forced or breaker.state == "closed"):
                        if stats.budget.try_spend(clock(), policy.budget_ratio):
                            UPSTREAM_RETRIES.labels(deployment.id, exc.kind).inc()
                            await asyncio.sleep(wait)
                            retry += 1
                            continue
                        RETRIES_REFUSED.labels(deployment.id).inc()
                    resend_allowed = exc.kind != "timeout" or deployment.retry_on_timeout
                    if exc.kind not in _FALL_BACK_ON or not resend_allowed:
                        raise
                    break
                if position > 0:
                    FALLBACKS.labels(deployment.model).inc()
                return Routed(result, deployment, tried.attempts)
        return None

    async def _attempt(
        self, deployment: DeploymentRef, call: Callable[[DeploymentRef], Awaitable[T]], probe: bool
    ) -> T:
        """One call, told to the deployment's stats and breaker."""
        stats = self.stats.of(deployment)
        clock = self._clock
        started = clock()
        stats.begin()
        try:
            result = await call(deployment)
        except UpstreamError as exc:
            now = clock()
            if exc.kind in _UPSTREAM_FAULTS:
                stats.breaker.failed(now, probe=probe)
                if exc.kind == "timeout":  # slow is what least-latency must learn
                    stats.answered_after(now - started, now)
            elif probe:
                stats.breaker.released()
            stats.count(exc.kind)
            raise
        except BaseException as exc:
            if probe:
                stats.breaker.released()
            stats.count("cancelled" if isinstance(exc, asyncio.CancelledError) else "error")
            raise
        finally:
            stats.end()
        now = clock()
        stats.breaker.succeeded(now)
        stats.answered_after(now - started, now)
        stats.count("ok")
        return result

    def _last_resort_key(self, deployment: DeploymentRef) -> tuple[bool, float]:
        stats = self.stats.of(deployment)
        return stats.unhealthy, stats.breaker.ejected_at

    def _policy(self, deployment: DeploymentRef) -> RetryPolicy:
        policy = self._policies.get(deployment.model)
        if policy is None:
            policy = self.policy.with_overrides(deployment.routing.retry)
            self._policies[deployment.model] = policy
        return policy


async def route(
    plan: list[DeploymentRef],
    call: Callable[[DeploymentRef], Awaitable[T]],
    policy: RetryPolicy,
) -> Routed[T]:
    """One request over one plan, with no memory of earlier requests (no fallback models)."""
    return await Router(policy, windows=ContextWindows(None)).route(plan, call)


def _span_start(plan: list[DeploymentRef]) -> dict[str, str]:
    return {"twelve.model": plan[0].model, "twelve.strategy": plan[0].routing.strategy}


async def _plan_of(
    plans: Plans | None, model: str, capability: Capability
) -> list[DeploymentRef] | None:
    """A fallback model's plan; None when it cannot serve this request (its capability)."""
    if plans is None:
        return None
    try:
        return await plans(model, capability)
    except TwelveError as exc:
        log.warning("fallback_unavailable", model=model, error=exc.message)
        return None


def _as_client_sees_it(
    error: UpstreamError, deployment: DeploymentRef, attempts: int
) -> UpstreamError:
    """The error for the client, naming the deployment and carrying the routing headers.

    An upstream refusing *our* credentials is a gateway fault, not the client's: a 401 would tell
    the client its own key is wrong (the OpenAI SDK raises AuthenticationError). The client's own
    errors (a bad request, a context too long) keep the upstream's message as OpenAI wrote it.
    """
    headers = {**error.headers, **routing_headers(deployment, attempts)}
    where = f"Deployment `{deployment.id}` ({deployment.provider}) of model `{deployment.model}`"
    # The models module already names the deployment; said once is enough.
    cause = error.message.removeprefix(f"Deployment `{deployment.id}` ({deployment.provider}): ")
    if error.kind == "auth":
        return UpstreamError(
            f"{where}: the upstream provider refused this deployment's credentials: {cause}",
            status=502,
            code="upstream_auth_failed",
            kind="auth",
            headers=headers,
        )
    if error.kind in _FALL_BACK_ON and not error.message.startswith(where):
        error.message = f"{where} failed after {attempts} attempt(s): {cause}"
        error.args = (error.message,)
    error.headers = headers
    return error
