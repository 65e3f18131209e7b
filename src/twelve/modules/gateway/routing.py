"""Retry and fallback over a routing plan.

Each deployment is tried with up to `retries` retries on retryable errors (exponential backoff with
full jitter), then the next deployment takes over. Errors that are the client's own (a bad
request) end the plan at once: another deployment would fail the same way. A stream is "called"
only up to its first chunk, so nothing is retried after the first byte reaches the client.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from twelve.kernel.errors import UpstreamError
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import FALLBACKS
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

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> RetryPolicy:
        return cls(
            settings.retries, settings.retry_backoff_seconds, settings.retry_backoff_max_seconds
        )

    def delay(self, retry: int) -> float:
        cap = min(self.backoff_max_seconds, self.backoff_seconds * (2**retry))
        return random.uniform(0, cap)


async def route(
    plan: list[DeploymentRef],
    call: Callable[[DeploymentRef], Awaitable[T]],
    policy: RetryPolicy,
) -> Routed[T]:
    last: UpstreamError | None = None
    attempts = 0
    for position, deployment in enumerate(plan):
        for retry in range(policy.retries + 1):
            attempts += 1
            try:
                result = await call(deployment)
            except UpstreamError as exc:
                last = exc
                log.warning(
                    "upstream_failed",
                    deployment=deployment.id,
                    kind=exc.kind,
                    status=exc.status,
                    attempt=attempts,
                    error=exc.message,
                )
                if exc.retryable and retry < policy.retries:
                    await asyncio.sleep(policy.delay(retry))
                    continue
                if exc.kind not in _FALL_BACK_ON:
                    raise
                break
            if position > 0:
                FALLBACKS.labels(deployment.model).inc()
            return Routed(result, deployment, attempts)
    assert last is not None, "a routing plan is never empty"
    raise _as_client_sees_it(last)


def _as_client_sees_it(error: UpstreamError) -> UpstreamError:
    """An upstream refusing *our* credentials is a gateway fault, not the client's: a 401 would
    tell the client its own key is wrong (the OpenAI SDK raises AuthenticationError)."""
    if error.kind != "auth":
        return error
    return UpstreamError(
        f"The upstream provider refused this deployment's credentials: {error.message}",
        status=502,
        code="upstream_auth_failed",
        kind="auth",
    )
