"""The ledger on SQLite and PostgreSQL: balances in micros, a journal that sums to zero,
top-ups once per Idempotency-Key, holds that can never overspend, settling exactly once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.modules.credits.adapters.tables import holds, journal
from twelve.modules.credits.api import AddCredits, CreateCustomer, InsufficientQuota, PlaceHold
from twelve.modules.credits.service import CreditsService


async def journal_sum(db: Database) -> int:
    async with db.read() as conn:
        return int(
            (await conn.execute(select(func.coalesce(func.sum(journal.c.amount), 0)))).scalar_one()
        )


async def open_holds(db: Database) -> int:
    async with db.read() as conn:
        return int(
            (await conn.execute(select(func.count()).where(holds.c.state == "open"))).scalar_one()
        )


async def test_opening_balance_and_top_up_are_journalled(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme", credits=Decimal("10.5")))
    grant = await credits.add_credits(acme.id, AddCredits(amount=Decimal("0.000001"), reason="x"))
    account = await credits.account(acme.id)
    assert account is not None
    assert account.balance_micros == 10_500_001 == grant.balance_micros
    assert account.held_micros == 0
    entries = await credits.ledger(acme.id)
    assert [e.amount_micros for e in entries] == [1, 10_500_000]
    assert await journal_sum(credits_db) == 0


async def test_unknown_customer_is_refused_and_nothing_written(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    with pytest.raises(NotFound):
        await credits.add_credits("cus_nope", AddCredits(amount=Decimal(1)), "k1")
    async with credits_db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(journal))).scalar_one() == 0


@pytest.mark.parametrize("amount", ["-1", "0", "abc", "1.0000001", "NaN", "1e12"])
def test_bad_amounts_are_refused(amount: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        AddCredits.model_validate({"amount": amount})


async def test_fifty_parallel_top_ups_with_one_key_credit_once(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme"))
    command = AddCredits(amount=Decimal(5), reason="button")
    grants = await asyncio.gather(
        *(credits.add_credits(acme.id, command, "same-key") for _ in range(50))
    )
    assert len({g.transaction_id for g in grants}) == 1
    account = await credits.account(acme.id)
    assert account is not None and account.balance_micros == 5_000_000
    assert len(await credits.ledger(acme.id)) == 1
    with pytest.raises(InvalidRequest) as reused:
        await credits.add_credits(acme.id, AddCredits(amount=Decimal(6)), "same-key")
    assert reused.value.code == "idempotency_key_reused"
    assert (await credits.account(acme.id)).balance_micros == 5_000_000  # type: ignore[union-attr]


async def test_concurrent_holds_never_exceed_the_balance(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme", credits=Decimal("0.00005")))

    async def one() -> bool:
        try:
            await credits.hold(PlaceHold(customer_id=acme.id, amount_micros=1))
        except InsufficientQuota:
            return False
        return True

    admitted = sum(await asyncio.gather(*(one() for _ in range(200))))
    assert admitted == 50
    account = await credits.account(acme.id)
    assert account is not None
    assert account.held_micros == 50 and account.available == 0 and account.open_holds == 50


async def test_settle_applies_exactly_once_and_releases_the_rest(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme", credits=Decimal(1)))
    hold = await credits.hold(PlaceHold(customer_id=acme.id, amount_micros=1000))
    results = await asyncio.gather(*(credits.settle(hold.id, 300) for _ in range(10)))
    assert sum(r.applied for r in results) == 1
    assert (await credits.release(hold.id)).applied is False
    account = await credits.account(acme.id)
    assert account is not None
    assert (account.balance_micros, account.held_micros) == (1_000_000 - 300, 0)
    assert await journal_sum(credits_db) == 0


async def test_unknown_cost_settles_at_the_hold_and_overrun_is_charged(
    credits_db: Database,
) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme", credits=Decimal(1)))
    unknown = await credits.hold(PlaceHold(customer_id=acme.id, amount_micros=1000))
    over = await credits.hold(PlaceHold(customer_id=acme.id, amount_micros=1000))
    released = await credits.hold(PlaceHold(customer_id=acme.id, amount_micros=1000))
    assert (await credits.settle(unknown.id, None)).charged_micros == 1000
    settled = await credits.settle(over.id, 2500)
    assert settled.overrun and settled.charged_micros == 2500
    assert (await credits.release(released.id)).charged_micros == 0
    account = await credits.account(acme.id)
    assert account is not None
    assert (account.balance_micros, account.held_micros) == (1_000_000 - 3500, 0)
    assert await journal_sum(credits_db) == 0 and await open_holds(credits_db) == 0


async def test_sweeper_settles_expired_holds_once(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme", credits=Decimal(1)))
    old = await credits.hold(PlaceHold(customer_id=acme.id, amount_micros=7, ttl_seconds=1))
    fresh = await credits.hold(PlaceHold(customer_id=acme.id, amount_micros=9))
    swept = await credits.sweep(now=old.expires_at + 1)
    assert swept.settled == 1
    assert (await credits.sweep(now=old.expires_at + 1)).settled == 0
    assert (await credits.settle(old.id, 1)).applied is False
    assert (await credits.settle(fresh.id, 2)).applied is True
    account = await credits.account(acme.id)
    assert account is not None and account.balance_micros == 1_000_000 - 9
    assert await open_holds(credits_db) == 0 and await journal_sum(credits_db) == 0


async def test_a_hold_whose_caller_is_cancelled_is_given_back(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme", credits=Decimal(1)))
    placing = asyncio.create_task(credits.hold(PlaceHold(customer_id=acme.id, amount_micros=5)))
    await asyncio.sleep(0)  # the write is under way
    placing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await placing
    await credits.close()  # waits for the give-back
    account = await credits.account(acme.id)
    assert account is not None
    assert (account.balance_micros, account.held_micros, account.open_holds) == (1_000_000, 0, 0)
