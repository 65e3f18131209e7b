"""When a failed call is sent again to the same deployment, and after how long.

Exponential backoff with full jitter (the AWS architecture blog's "full jitter": a random wait up
to a doubling cap), or the upstream's own `Retry-After` when it is short; a long one moves on to
the next deployment at once. A timed-out call is sent again only when its deployment allows it
(`retry_on_timeout`): the upstream may already have billed it. A model may change the gateway's
settings (`retry:` in its configuration).

Why not `stamina` or `tenacity`: the decision is per error (its kind, its `Retry-After`, the
deployment's `retry_on_timeout`, the breaker, the retry budget) and a refusal moves routing on to
another deployment rather than raising; wrapping that loop in a retrying decorator would hide the
part that matters, and the backoff itself is two lines.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from time import time

from twelve.kernel.errors import UpstreamError
from twelve.modules.gateway.settings import GatewaySettings
from twelve.modules.models.api import DeploymentRef, RetryOverrides


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int
    backoff_seconds: float
    backoff_max_seconds: float
    retry_after_max_seconds: float = 2.0
    deadline_seconds: float = 300.0
    # Retries may be at most this share of recent requests (see `retry_budget.py`); None: the
    # budget's own.
    budget_ratio: float | None = None

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> RetryPolicy:
        return cls(
            settings.retries,
            settings.retry_backoff_seconds,
            settings.retry_backoff_max_seconds,
            settings.retry_after_max_seconds,
            settings.deadline_seconds,
        )

    def with_overrides(self, overrides: RetryOverrides) -> RetryPolicy:
        changed = {k: v for k, v in overrides.model_dump().items() if v is not None}
        return replace(self, **changed) if changed else self

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
