"""Per-key budgets on SQLite and PostgreSQL: a hold must fit the customer's balance AND the key's
remaining budget for the period, in one transaction; settling moves held to spent, releasing and
sweeping give back; a key's budget does not limit the customer's other keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from twelve.kernel.db import Database
from twelve.kernel.quotas import Budget
from twelve.modules.credits.adapters.tables import key_spend
from twelve.modules.credits.api import BudgetExceeded, CreateCustomer, InsufficientQuota, PlaceHold
from twelve.modules.credits.key_budget import period_start
from twelve.modules.credits.service import CreditsService

FIFTY = Budget(amount=Decimal("0.00005"), period="day")  # 50 micros a day


async def spend(db: Database, key_id: str) -> list[tuple[int, int]]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(key_spend.c.spent, key_spend.c.held).where(key_spend.c.key_id == key_id)
        )
        return [(spent, held) for spent, held in rows.all()]


async def test_two_hundred_parallel_holds_fit_a_budget_of_fifty(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme", credits=Decimal(1)))
    refusals: list[InsufficientQuota] = []

    async def one() -> bool:
        try:
            await credits.hold(
                PlaceHold(customer_id=acme.id, amount_micros=1, key_id="key_a", budget=FIFTY)
            )
        except InsufficientQuota as exc:
            refusals.append(exc)
            return False
        return True

    admitted = sum(await asyncio.gather(*(one() for _ in range(200))))
    assert admitted == 50
    assert len(refusals) == 150 and all(isinstance(r, BudgetExceeded) for r in refusals)
    refused = refusals[0]
    assert (refused.status, refused.type, refused.code) == (
        402,
        "insufficient_quota",
        "budget_exceeded",
    )
    assert "daily budget of $0.00005" in refused.message
    account = await credits.account(acme.id)
    assert account is not None
    # The refused holds left nothing held on the balance: only the 50 admitted are.
    assert (account.held_micros, account.open_holds) == (50, 50)
    assert await spend(credits_db, "key_a") == [(0, 50)]
    # The customer's other keys are not limited by key_a's budget (nor by a budget of their own).
    await credits.hold(PlaceHold(customer_id=acme.id, amount_micros=1000, key_id="key_b"))
    await credits.hold(
        PlaceHold(customer_id=acme.id, amount_micros=50, key_id="key_c", budget=FIFTY)
    )
    assert (await credits.account(acme.id)).held_micros == 1100  # type: ignore[union-attr]


async def test_settle_moves_held_to_spent_and_release_gives_back(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme", credits=Decimal(1)))
    place = PlaceHold(customer_id=acme.id, amount_micros=20, key_id="key_a", budget=FIFTY)
    first = await credits.hold(place)
    second = await credits.hold(place)
    with pytest.raises(BudgetExceeded):
        await credits.hold(place)  # 40 held + 20 > 50
    assert await spend(credits_db, "key_a") == [(0, 40)]
    await credits.settle(first.id, 5)
    assert await spend(credits_db, "key_a") == [(5, 20)]
    await credits.release(second.id)
    assert await spend(credits_db, "key_a") == [(5, 0)]
    third = await credits.hold(place)  # 5 spent + 20 held <= 50
    swept = await credits.sweep(now=third.expires_at + 1)  # settled at the hold
    assert swept.settled == 1
    assert await spend(credits_db, "key_a") == [(25, 0)]
    await credits.hold(place)  # 25 + 20 <= 50
    with pytest.raises(BudgetExceeded):
        await credits.hold(place.model_copy(update={"amount_micros": 6}))  # 25 + 20 + 6 > 50


async def test_the_balance_is_checked_before_the_budget(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    poor = await credits.create_customer(CreateCustomer(name="poor", credits=Decimal("0.00001")))
    with pytest.raises(InsufficientQuota) as refused:
        await credits.hold(
            PlaceHold(customer_id=poor.id, amount_micros=20, key_id="key_p", budget=FIFTY)
        )
    assert refused.value.code == "insufficient_quota"
    assert await spend(credits_db, "key_p") == []
    rich = await credits.create_customer(CreateCustomer(name="rich", credits=Decimal(1)))
    with pytest.raises(BudgetExceeded):  # more than the whole budget: refused without a row
        await credits.hold(
            PlaceHold(customer_id=rich.id, amount_micros=51, key_id="key_p", budget=FIFTY)
        )
    assert await spend(credits_db, "key_p") == []
    for customer in (poor, rich):
        account = await credits.account(customer.id)
        assert account is not None and (account.held_micros, account.open_holds) == (0, 0)


@pytest.mark.parametrize(
    ("period", "now", "start"),
    [
        ("day", datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)),
        ("month", datetime(2026, 3, 31, 23, 59, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        ("month", datetime(2026, 4, 1, 0, 0, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
    ],
)
def test_periods_are_utc_days_and_months(period: str, now: datetime, start: datetime) -> None:
    budget = Budget.model_validate({"amount": 1, "period": period})
    assert period_start(budget, now.timestamp()) == int(start.timestamp())


async def test_holds_and_settles_on_one_key_in_parallel_add_up(credits_db: Database) -> None:
    """Holds lock the account then the key's spend; settles must too, or they deadlock."""
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme", credits=Decimal(1)))
    roomy = Budget(amount=Decimal(1), period="month")
    place = PlaceHold(customer_id=acme.id, amount_micros=10, key_id="key_a", budget=roomy)

    async def worker() -> None:
        for _ in range(10):
            hold = await credits.hold(place)
            await credits.settle(hold.id, 3)

    await asyncio.gather(*(worker() for _ in range(30)))
    assert await spend(credits_db, "key_a") == [(900, 0)]
    account = await credits.account(acme.id)
    assert account is not None and (account.balance_micros, account.held_micros) == (
        1_000_000 - 900,
        0,
    )
