"""A time window given in a query string, as reports take it: `from` and `to`, each unix seconds
or a UTC date (YYYY-MM-DD). A date as `to` includes that whole day. A bad value, or `from` after
`to`, is a 400 naming the parameter."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from twelve.kernel.errors import InvalidRequest

__all__ = ["time_window"]

# Unix seconds a date can be made of (years 1970 to 9999).
_LATEST = 253_402_300_799


def time_window(since: str | None, until: str | None) -> tuple[float | None, float | None]:
    """(`from` inclusive, `to` exclusive) in unix seconds; None where not given."""
    start = _instant(since, "from", end=False)
    stop = _instant(until, "to", end=True)
    if start is not None and stop is not None and start >= stop:  # an empty window: a mistake
        raise InvalidRequest("`from` must be earlier than `to`.", param="from")
    return start, stop


def _instant(value: str | None, param: str, *, end: bool) -> float | None:
    if value is None or value == "":
        return None
    text = value.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise _bad(param) from None
        if end:
            if day == date.max:
                return float(_LATEST + 1)
            day += timedelta(days=1)
        return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    try:
        seconds = float(text) if len(text) <= 32 else math.nan
    except ValueError:
        raise _bad(param) from None
    if not 0 <= seconds <= _LATEST:  # NaN, infinities, negatives, the far future
        raise _bad(param)
    return seconds


def _bad(param: str) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid value for '{param}': give unix seconds (e.g. 1767225600) or a UTC date "
        "(YYYY-MM-DD).",
        param=param,
    )
