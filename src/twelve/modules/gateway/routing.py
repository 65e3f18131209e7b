"""Retry and fallback over a routing plan, within one overall deadline.

Each deployment is tried with up to `retries` retries on retryable errors (exponential backoff with
full jitter, or the upstream's own `Retry-After` when it is short; a long one moves on to the next
deployment at once), then the next deployment takes over. A timed-out call is sent again only when
its deployment allows it (`retry_on_timeout`): the upstream may already have billed it. Errors that
are the client's own (a bad request) end the plan at once: another deployment would fail the same
way. A stream is "called" only up to its first chunk, so nothing is retried after the first byte
reaches the client. An error that leaves here names the last deployment tried, in its message and
in the routing headers.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time
from typing import Generic, TypeVar

from twelve.kernel.errors import UpstreamError, UpstreamTimeout
from twelve.kernel.rpc_wire import deadline_within
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import FALLBACKS, UPSTREAM_RETRIES
from twelve.modules.gateway.settings import GatewaySettings
from twelve.modules.models.api import DeploymentRef

T = TypeVar("T")
log = get_logger("twelve.gateway.routing")

# Failures another deployment may not share: its own key, its own limits, its own outage.
_FALL_BACK_ON = frozenset({"auth", "rate_limit", "upstream_5xx", "timeout", "connection"})


@dataclass(frozen=True, slots=True)
class Routed(Generic[T]):
    result: T
    deployment: DeploymentRef
    attempts: int


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int
    backoff_seconds: float
    backoff_max_seconds: float
    retry_after_max_seconds: float = 2.0
    deadline_seconds: float = 300.0

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> RetryPolicy:
        return cls(
            settings.retries,
            settings.retry_backoff_seconds,
            settings.retry_backoff_max_seconds,
            settings.retry_after_max_seconds,
            settings.deadline_seconds,
        )

    def delay(self, retry: int) -> float:
        cap = min(self.backoff_max_seconds, self.backoff_seconds * (2**retry))
        return random.uniform(0, cap)

    def wait_before_retry(
        self, error: UpstreamError, deployment: DeploymentRef, retry: int
    ) -> float | None:
        """Seconds to wait before trying `deployment` again, or None to move on."""
        if not error.retryable or retry >= self.retries:
            return None
        if error.kind == "timeout" and not deployment.retry_on_timeout:
            return None
        asked = retry_after_seconds(error.headers.get("Retry-After"))
        if asked is None:
            return self.delay(retry)
        return asked if asked <= self.retry_after_max_seconds else None


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return max(0.0, seconds) if seconds == seconds else None  # NaN is not a time


def routing_headers(deployment: DeploymentRef, attempts: int) -> dict[str, str]:
    return {
        "x-twelve-model": deployment.model,
        "x-twelve-deployment": deployment.id,
        "x-twelve-provider": deployment.provider,
        "x-twelve-attempts": str(attempts),
    }


async def route(
    plan: list[DeploymentRef],
    call: Callable[[DeploymentRef], Awaitable[T]],
    policy: RetryPolicy,
) -> Routed[T]:
    assert plan, "a routing plan is never empty"
    deadline = asyncio.timeout(policy.deadline_seconds)
    tried = _Tried(plan[0])
    try:
        # Calls to modules in other processes carry the time left (`x-twelve-deadline`).
        with deadline_within(policy.deadline_seconds):
            async with deadline:
                return await _route(plan, call, policy, tried)
    except TimeoutError:
        if not deadline.expired():
            raise
        late = UpstreamTimeout(
            f"No deployment answered within the {policy.deadline_seconds:g} s deadline."
        )
        raise _as_client_sees_it(late, tried.deployment, tried.attempts) from None


@dataclass(slots=True)
class _Tried:
    """The deployment being tried and the attempts so far: what a failure reports."""

    deployment: DeploymentRef
    attempts: int = 0


async def _route(
    plan: list[DeploymentRef],
    call: Callable[[DeploymentRef], Awaitable[T]],
    policy: RetryPolicy,
    tried: _Tried,
) -> Routed[T]:
    last: UpstreamError | None = None
    for position, deployment in enumerate(plan):
        tried.deployment = deployment
        retry = 0
        while True:
            tried.attempts += 1
            try:
                result = await call(deployment)
            except UpstreamError as exc:
                last = exc
                log.warning(
                    "upstream_failed",
                    deployment=deployment.id,
                    kind=exc.kind,
                    status=exc.status,
                    attempt=tried.attempts,
                    error=exc.message,
                )
                wait = policy.wait_before_retry(exc, deployment, retry)
                if wait is not None:
                    UPSTREAM_RETRIES.labels(deployment.id, exc.kind).inc()
                    await asyncio.sleep(wait)
                    retry += 1
                    continue
                resend_allowed = exc.kind != "timeout" or deployment.retry_on_timeout
                if exc.kind not in _FALL_BACK_ON or not resend_allowed:
                    raise _as_client_sees_it(exc, deployment, tried.attempts) from None
                break
            if position > 0:
                FALLBACKS.labels(deployment.model).inc()
            return Routed(result, deployment, tried.attempts)
    assert last is not None
    raise _as_client_sees_it(last, tried.deployment, tried.attempts) from None


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
    if error.kind in _FALL_BACK_ON:
        error.message = f"{where} failed after {attempts} attempt(s): {cause}"
        error.args = (error.message,)
    error.headers = headers
    return error
