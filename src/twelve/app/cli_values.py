"""How the CLI reads values the admin API takes as JSON: limits that may be cleared (`none`),
times as Unix seconds or ISO 8601, and budgets.

A value that cannot be read is one line on stderr naming the option, exit status 1, before any
database is opened; the API's own checks (ranges, the past) still apply after.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

CLEAR = "none"


def fail(message: str) -> typer.Exit:
    typer.echo(f"twelve: {message}", err=True)
    return typer.Exit(1)


def whole_or_none(text: str, option: str) -> int | None:
    """A whole number, or None for `none` (clears the limit)."""
    if text.strip().lower() == CLEAR:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise fail(f"{option}: expected a whole number or '{CLEAR}', got {text!r}") from None


def moment(text: str, option: str) -> int | None:
    """Unix seconds, or an ISO 8601 date or date-time (UTC unless it names a zone); `none`
    clears it."""
    stripped = text.strip()
    if stripped.lower() == CLEAR:
        return None
    if stripped.isdigit():
        return int(stripped)
    try:
        parsed = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise fail(
            f"{option}: expected Unix seconds or an ISO 8601 time such as 2027-01-31 or "
            f"2027-01-31T12:00:00Z, got {text!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def budget(amount: str | None, period: str | None) -> dict[str, Any] | None:
    """The API's `budget` object; None for `--budget none`. The amount stays text, so the API
    reads it exactly (as a decimal, never through a float)."""
    if amount is None:
        if period is not None:
            raise fail("--budget-period: give the amount too, with --budget AMOUNT")
        raise AssertionError("budget() needs --budget or --budget-period")
    if amount.strip().lower() == CLEAR:
        return None
    return {"amount": amount.strip(), "period": period or "month"}
