"""Summary statistics over full sample lists (no sampling, no histograms)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], pct: float) -> float | None:
    """The nearest-rank percentile of `samples` (`pct` in 0..100); None when there are none.

    Nearest-rank always returns an observed value: the smallest sample with at least `pct`% of
    the samples at or below it.
    """
    if not samples:
        return None
    if not 0.0 <= pct <= 100.0:
        raise ValueError(f"percentile out of range: {pct}")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def mean(samples: Sequence[float]) -> float | None:
    return sum(samples) / len(samples) if samples else None
