"""The arithmetic behind the rate-limit headers: OpenAI's duration format, how long until a
sliding window has room, and the `TWELVE_REDIS_URL` setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twelve.modules.gateway.settings import RateLimitSettings
from twelve.modules.gateway.stages.limit_store import WindowState
from twelve.modules.gateway.stages.rate_limit_headers import (
    duration,
    retry_after,
    until_full,
    until_room,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.02, "20ms"),
        (0.0001, "1ms"),
        (1, "1s"),
        (8.64, "8.64s"),
        (59.9999, "1m0s"),
        (360, "6m0s"),
        (61.5, "1m1.5s"),
        (3600, "1h0m0s"),
    ],
)
def test_durations_are_written_as_openai_writes_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert retry_after(0) == "1"
    assert retry_after(0.2) == "1"
    assert retry_after(1.01) == "2"


def test_a_full_current_minute_waits_for_the_shift_and_the_slide() -> None:
    # 60 requests in a minute that ends in 30 s (its counter lives 90 s in all).
    state = WindowState(previous=0, previous_ttl=0, current=60, current_ttl=90)
    # After the shift (30 s) the previous minute must slide out until one request fits:
    # floor(60 * (60 - s) / 60) + 1 <= 60  =>  s > 0: just after the shift.
    assert until_room(state, 60, 1) == pytest.approx(30)
    # Ten at once need ten of the sixty to have slid out: s > 9.
    assert until_room(state, 60, 10) == pytest.approx(39)
    assert until_full(state, 0) == 90


def test_the_previous_minute_sliding_out_makes_room() -> None:
    state = WindowState(previous=60, previous_ttl=30, current=20, current_ttl=90)
    # floor(60 * (30 - s) / 60) + 20 + 1 <= 60  =>  60 * (30 - s) / 60 < 40  =>  s > -10
    assert until_room(state, 60, 1) == 0
    tight = WindowState(previous=60, previous_ttl=30, current=50, current_ttl=90)
    # 60 * (30 - s) / 60 < 10  =>  s > 20
    assert until_room(tight, 60, 1) == pytest.approx(20)


def test_a_cost_over_the_limit_never_fits() -> None:
    assert until_room(WindowState(0, 0, 0, 0), 10, 11) == 60


def test_an_empty_redis_url_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWELVE_REDIS_URL", "  ")
    assert RateLimitSettings().redis_url is None
    monkeypatch.setenv("TWELVE_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert RateLimitSettings().redis_url == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:6379", "redis://", "redis://127.0.0.1:port/0", "unix://"]
)
def test_a_bad_redis_url_is_refused(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("TWELVE_REDIS_URL", url)
    with pytest.raises(ValidationError):
        RateLimitSettings()
