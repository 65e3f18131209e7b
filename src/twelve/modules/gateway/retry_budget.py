"""The retry budget: retries to a deployment may be at most a share of its recent requests
(Finagle's and Linkerd's retry budgets, Envoy's `budget_percent`).

Retries sent when an upstream is failing add load exactly when it can least take it. So a
retry is made only while the deployment's retries over the last `window_seconds` stay under
`ratio` (20%) of the requests it was sent in that window, or under `minimum` (3), whichever is
more, so that a quiet deployment can still retry. One budget per deployment: a failing one cannot
spend another's. A
fallback to another deployment or model is not a retry of the failed call and spends nothing.
"""

from __future__ import annotations

_SLICES = 10


class RetryBudget:
    def __init__(self, ratio: float = 0.2, minimum: int = 3, window_seconds: float = 10.0) -> None:
        self.ratio = ratio
        self.minimum = minimum
        self._slice_seconds = window_seconds / _SLICES
        # Per slice of the window: [slice number, requests, retries].
        self._slices = [[-1, 0, 0] for _ in range(_SLICES)]

    def requested(self, now: float) -> None:
        self._slice(now)[1] += 1

    def try_spend(self, now: float, ratio: float | None = None) -> bool:
        """Spend one retry if the budget has one (`ratio`: a model's own share)."""
        current = self._slice(now)
        number = current[0]
        requests = retries = 0
        for slice_number, slice_requests, slice_retries in self._slices:
            if number - slice_number < _SLICES:
                requests += slice_requests
                retries += slice_retries
        share = self.ratio if ratio is None else ratio
        if retries >= max(self.minimum, share * requests):
            return False
        current[2] += 1
        return True

    def _slice(self, now: float) -> list[int]:
        number = int(now / self._slice_seconds)
        bucket = self._slices[number % _SLICES]
        if bucket[0] != number:
            bucket[0], bucket[1], bucket[2] = number, 0, 0
        return bucket
