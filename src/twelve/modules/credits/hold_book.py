"""Two-phase spending, like TigerBeetle's pending transfers.

`hold` reserves a request's worst-case cost in ONE conditional write
(`UPDATE accounts SET held = held + h WHERE id = a AND balance - held >= h`): on SQLite writers
take the write lock in turn (BEGIN IMMEDIATE), on PostgreSQL the row lock makes concurrent holds
re-check the condition, so however many requests run at once the holds never exceed the balance.
`settle` moves a hold from open to settled with a conditional update too, so it applies once per
hold however often (or from wherever: finaliser, sweeper, another process) it is called.
A hold made for a key with a budget must also fit the key's remaining budget for the period, in
the same transaction (`key_budget.py`); when it does not, the balance's hold is undone there too.

On SQLite each operation is a synchronous function of the `sqlite3` connection, run by the group
commit (`group_commit.py`: many operations, one transaction). On PostgreSQL each is ONE statement
on a pooled asyncpg connection (`adapters/postgres_holds.py`): one round trip per hold and per
settle.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Protocol

from sqlalchemy import select

from twelve.kernel.db import Database
from twelve.kernel.telemetry.logging import get_logger
from twelve.modules.credits import journal, key_budget
from twelve.modules.credits.adapters.postgres_holds import PostgresHolds
from twelve.modules.credits.adapters.tables import holds
from twelve.modules.credits.api import Hold, InsufficientQuota, PlaceHold, Settlement, SweepResult
from twelve.modules.credits.group_commit import GroupCommit
from twelve.modules.credits.money import usd_to_micros

log = get_logger("twelve.credits.holds")


class HoldBook:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._group = GroupCommit(db.url) if db.is_sqlite else None
        self._postgres = None if db.is_sqlite else PostgresHolds(db.url, db.schema)
        # Releases of holds whose caller was cancelled, held so they are not collected mid-way.
        self._giving_back: set[asyncio.Task[None]] = set()

    async def _place(self, row: dict[str, Any]) -> str:
        if self._group is not None:
            return await self._group.run(partial(_place, row))
        assert self._postgres is not None
        return await self._postgres.place(row)

    async def _close(self, hold_id: str, cost_micros: int | None, *, charge: bool) -> Settlement:
        if self._group is not None:
            return await self._group.run(partial(_close, hold_id, cost_micros, charge=charge))
        assert self._postgres is not None
        cost = None if cost_micros is None else max(cost_micros, 0)
        closed = await self._postgres.close(hold_id, cost, charge=charge)
        if closed is None:
            return Settlement.model_construct(hold_id=hold_id, applied=False)
        amount, charged = closed
        return Settlement.model_construct(
            hold_id=hold_id, applied=True, charged_micros=charged, overrun=charged > amount
        )

    async def hold(self, command: PlaceHold) -> Hold:
        now = time.time()
        held = Hold.model_construct(  # from a validated command: no second validation
            id=f"hld_{secrets.token_hex(12)}",
            customer_id=command.customer_id,
            amount_micros=command.amount_micros,
            expires_at=now + command.ttl_seconds,
        )
        budget = command.budget if command.key_id else None
        row = {
            "id": held.id,
            "account_id": command.customer_id,
            "amount": command.amount_micros,
            "request_id": command.request_id[:128],
            "created_at": now,
            "expires_at": held.expires_at,
            "key_id": command.key_id[:40] if budget else None,
            "key_period": key_budget.period_start(budget, now) if budget else None,
            "budget": usd_to_micros(budget.amount) if budget else None,
        }
        placing = asyncio.ensure_future(self._place(row))
        try:
            placed = await asyncio.shield(placing)
        except asyncio.CancelledError:
            # The caller left (its client hung up during admission) but the write goes on:
            # once it has committed, give the hold back, or it would be charged when it expires.
            task = asyncio.get_running_loop().create_task(self._give_back(held.id, placing))
            self._giving_back.add(task)
            task.add_done_callback(self._giving_back.discard)
            raise
        if placed == _BUDGET and budget is not None:
            raise key_budget.exceeded(budget)
        if placed != _PLACED:
            raise InsufficientQuota(
                "You exceeded your current quota: the balance available cannot cover this "
                "request's worst-case cost. Add credits or lower max_tokens."
            )
        return held

    async def _give_back(self, hold_id: str, placing: asyncio.Future[str]) -> None:
        if await placing == _PLACED:
            await self.release(hold_id)

    async def settle(self, hold_id: str, cost_micros: int | None) -> Settlement:
        settled = await self._close(hold_id, cost_micros, charge=True)
        if settled.overrun:
            log.warning("hold_overrun", hold_id=hold_id, charged=settled.charged_micros)
        return settled

    async def release(self, hold_id: str) -> Settlement:
        return await self._close(hold_id, 0, charge=False)

    async def sweep(self, now: float | None = None) -> SweepResult:
        """Settle at the hold every expired open hold: its request's end was never recorded
        (the process died), and an upstream that was called may have billed."""
        cutoff = time.time() if now is None else now
        async with self._db.read() as conn:
            expired = (
                await conn.execute(
                    select(holds.c.id).where(holds.c.state == "open", holds.c.expires_at <= cutoff)
                )
            ).all()
        settled = 0
        for (hold_id,) in expired:
            settled += (await self.settle(hold_id, None)).applied
        if settled:
            log.info("holds_swept", settled=settled)
        return SweepResult(settled=settled)

    async def close(self) -> None:
        if self._giving_back:
            await asyncio.gather(*self._giving_back, return_exceptions=True)
        if self._group is not None:
            await self._group.close()
        if self._postgres is not None:
            await self._postgres.dispose()


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...


class Driver(Protocol):
    """What an operation needs of a connection: `sqlite3.Connection` has it as it is."""

    def execute(self, sql: str, parameters: Mapping[str, Any], /) -> Cursor: ...
    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]], /) -> Any: ...


# The SQLite hot path is plain SQL with named parameters, straight on the sqlite3 driver
# (the group commit's connection): no per-statement construction (bench/credits.py measures it).
_HOLD = (
    "UPDATE accounts SET held = held + :amount WHERE id = :account_id AND balance - held >= :amount"
)
_UNHOLD = "UPDATE accounts SET held = held - :amount WHERE id = :account_id"
_OPEN_HOLD = (
    "INSERT INTO holds (id, account_id, amount, state, request_id, created_at, expires_at,"
    " charged, overrun, at_hold, key_id, key_period) VALUES (:id, :account_id, :amount, 'open',"
    " :request_id, :created_at, :expires_at, NULL, :no, :no, :key_id, :key_period)"
)
# Closing is the conditional write that makes settling happen once: of concurrent closers of
# one hold (finaliser, sweeper, another process) only one finds it open.
_CLOSE = (
    "UPDATE holds SET state = :state, charged = COALESCE(:cost, amount),"
    " overrun = COALESCE(:cost, amount) > amount, at_hold = :at_hold"
    " WHERE id = :id AND state = 'open'"
    " RETURNING account_id, amount, charged, key_id, key_period"
)
_POST = (
    "UPDATE accounts SET held = held - :amount, balance = balance - :charged WHERE id = :account"
)


# What `_place` found: the hold is placed, or the balance or the key's budget cannot cover it.
_PLACED, _BALANCE, _BUDGET = "placed", "balance", "budget"


def _place(row: dict[str, Any], conn: Driver) -> str:
    if conn.execute(_HOLD, row).rowcount != 1:
        return _BALANCE
    if row["key_id"] is not None and (
        row["amount"] > row["budget"] or conn.execute(key_budget.HOLD_SQL, row).rowcount != 1
    ):
        conn.execute(_UNHOLD, row)  # same transaction: as if the balance were never held
        return _BUDGET
    conn.execute(_OPEN_HOLD, {**row, "no": False})
    return _PLACED


def _close(hold_id: str, cost_micros: int | None, conn: Driver, *, charge: bool) -> Settlement:
    cost = None if cost_micros is None else max(cost_micros, 0)
    closed = conn.execute(
        _CLOSE,
        {
            "id": hold_id,
            "state": "settled" if charge else "voided",
            "cost": cost,
            "at_hold": cost is None,
        },
    ).fetchone()
    if closed is None:  # unknown, or settled already
        return Settlement.model_construct(hold_id=hold_id, applied=False)
    account, amount, charged, key_id, key_period = closed
    overrun = charged > amount
    conn.execute(_POST, {"amount": amount, "charged": charged, "account": account})
    if key_id is not None:
        spend = {"amount": amount, "charged": charged, "key_id": key_id, "key_period": key_period}
        conn.execute(key_budget.CLOSE_SQL, spend)
    if charged:
        reason = "overrun" if overrun else "usage"
        conn.executemany(
            journal.INSERT_SQL,
            journal.lines(
                kind="charge",
                debit=account,
                credit=journal.REVENUE,
                micros=charged,
                reason=reason,
                hold_id=hold_id,
            ),
        )
    # Built from values just read back: validating them again would cost more than the write.
    return Settlement.model_construct(
        hold_id=hold_id, applied=True, charged_micros=charged, overrun=bool(overrun)
    )
