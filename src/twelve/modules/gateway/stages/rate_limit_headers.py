"""What a client is told about its rate limits, in OpenAI's headers.

`x-ratelimit-{limit,remaining,reset}-{requests,tokens}` come from the tightest window of each
unit (key or customer, whichever has less left); `reset` is the time until that window is back to
its full limit, written as OpenAI writes it (`1s`, `6m0s`, `20ms`). A refusal adds `Retry-After`:
whole seconds (at least 1) until the refusing window has room for the request again.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil

from twelve.modules.gateway.stages.limit_store import (
    WINDOW_SECONDS,
    Unit,
    Window,
    WindowState,
)


def duration(seconds: float) -> str:
    """OpenAI's (Go's) duration format: `20ms`, `1.5s`, `6m0s`, `1h0m0s`."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    hours, rest = divmod(round(seconds, 3), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    return f"{int(minutes)}m{text}" if minutes else text


def until_full(state: WindowState, cost: int) -> float:
    """Seconds until the window holds nothing, counting this request's `cost` as taken: what
    it took and what the current minute holds leave the window with the current counter."""
    if state.current or cost:
        return state.current_ttl if state.current_ttl else 2 * WINDOW_SECONDS
    return state.previous_ttl if state.previous else 0.0


def until_room(state: WindowState, limit: int, cost: int) -> float:
    """Seconds until `cost` more fits: the previous minute's share shrinks as it slides out;
    when the current minute alone is too full, its count must first become the previous one."""
    window = WINDOW_SECONDS
    if cost > limit:
        return float(window)  # never fits: a minute is the honest answer to "when"
    room = limit - cost + 1  # the weighted count must fall below this
    if state.current < room:
        if not state.previous:
            return 0.0
        # floor(previous * (ttl - s) / window) + current < room
        return max(0.0, state.previous_ttl - window * (room - state.current) / state.previous)
    shift = max(0.0, state.current_ttl - window)  # when the current minute becomes the previous
    return shift + max(0.0, window - window * room / state.current)


def retry_after(seconds: float) -> str:
    return str(max(1, ceil(seconds)))


def headers(
    windows: Sequence[Window], states: Sequence[WindowState], *, taken: bool
) -> dict[str, str]:
    """The `x-ratelimit-*` headers for the tightest window of each unit. `taken`: the request's
    cost was taken (an admitted request), so it counts in what remains."""
    out: dict[str, str] = {}
    for unit in ("requests", "tokens"):
        tightest = _tightest(unit, windows, states, taken)
        if tightest is None:
            continue
        window, state, remaining = tightest
        cost = window.cost if taken else 0
        out[f"x-ratelimit-limit-{unit}"] = str(window.limit)
        out[f"x-ratelimit-remaining-{unit}"] = str(remaining)
        out[f"x-ratelimit-reset-{unit}"] = duration(until_full(state, cost))
    return out


def _tightest(
    unit: Unit, windows: Sequence[Window], states: Sequence[WindowState], taken: bool
) -> tuple[Window, WindowState, int] | None:
    best: tuple[Window, WindowState, int] | None = None
    for window, state in zip(windows, states, strict=True):
        if window.unit != unit:
            continue
        remaining = max(0, window.limit - state.used() - (window.cost if taken else 0))
        if best is None or remaining < best[2]:
            best = (window, state, remaining)
    return best
