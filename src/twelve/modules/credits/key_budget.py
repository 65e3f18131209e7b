"""Per-key budgets: what a key may spend per UTC day or month, held and charged in the same
transaction as its customer's balance (see hold_book.py).

A key's spend in a period is one `key_spend` row (`spent`, `held`), created by the period's first
hold. A hold fits when `spent + held + amount <= budget`: ONE conditional upsert, so concurrent
holds on a key can never together exceed its budget (the row lock on PostgreSQL, the one writer
on SQLite). Spend is counted from when a key has a budget: a key without one writes nothing here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from twelve.kernel.quotas import Budget
from twelve.modules.credits.api import BudgetExceeded

# The period's first hold inserts its row; later ones add to it only while the budget allows.
# `rowcount` is 1 when the hold fits, 0 when it does not (the update's WHERE was false).
HOLD_SQL = (
    "INSERT INTO key_spend (key_id, period_start, spent, held)"
    " VALUES (:key_id, :key_period, 0, :amount)"
    " ON CONFLICT (key_id, period_start) DO UPDATE SET held = key_spend.held + excluded.held"
    " WHERE key_spend.spent + key_spend.held + excluded.held <= :budget"
)
# A settle (charged = the cost), a release or a sweep (charged = 0 or the hold) of a key's hold.
CLOSE_SQL = (
    "UPDATE key_spend SET held = held - :amount, spent = spent + :charged"
    " WHERE key_id = :key_id AND period_start = :key_period"
)


def period_start(budget: Budget, now: float) -> int:
    """The start (unix seconds) of the UTC day or month `now` is in."""
    at = datetime.fromtimestamp(now, UTC)
    start = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if budget.period == "month":
        start = start.replace(day=1)
    return int(start.timestamp())


def exceeded(budget: Budget) -> BudgetExceeded:
    period = "daily" if budget.period == "day" else "monthly"
    resets = "at 00:00 UTC" if budget.period == "day" else "on the 1st of the month, 00:00 UTC"
    amount = f"{budget.amount.normalize():f}"
    return BudgetExceeded(
        f"This API key's {period} budget of ${amount} cannot cover this request's worst-case "
        f"cost: it resets {resets}. Raise the key's budget or lower max_tokens."
    )
