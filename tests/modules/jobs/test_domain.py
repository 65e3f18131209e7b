"""Pure rules of jobs: backoff bounds and which failures are worth another attempt."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from twelve.modules.jobs.domain import PRIORITY_RANK, backoff_seconds, retryable


@given(st.integers(1, 40), st.floats(0, 1))
def test_backoff_grows_to_its_cap_with_full_jitter(attempt: int, rand: float) -> None:
    wait = backoff_seconds(attempt, 1.0, 60.0, rand)
    assert 0 <= wait <= min(60.0, 2.0 ** (attempt - 1))


def test_backoff_doubles_each_attempt() -> None:
    assert [backoff_seconds(n, 0.5, 100, 1.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]


def test_limits_timeouts_and_upstream_trouble_are_retried_bad_requests_are_not() -> None:
    assert all(retryable(s) for s in (408, 429, 500, 502, 503, 504, None))
    assert not any(retryable(s) for s in (400, 401, 402, 403, 404, 422))


def test_high_runs_first() -> None:
    assert PRIORITY_RANK["high"] < PRIORITY_RANK["standard"] < PRIORITY_RANK["low"]
