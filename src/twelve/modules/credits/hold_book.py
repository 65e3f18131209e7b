"""Two-phase spending, like TigerBeetle's pending transfers.

`hold` reserves a request's worst-case cost in ONE conditional write
(`UPDATE accounts SET held = held + h WHERE id = a AND balance - held >= h`): on SQLite writers
queue behind BEGIN IMMEDIATE, on PostgreSQL the row lock makes concurrent holds re-check the
condition, so however many requests run at once the holds never exceed the balance. `settle`
moves a hold from open to settled with a conditional update too, so it applies once per hold
however often (or from wherever: finaliser, sweeper) it is called.
"""

from __future__ import annotations

import secrets
import time

from sqlalchemy import insert, select, update

from twelve.kernel.db import Database
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.unit_of_work import UnitOfWork
from twelve.modules.credits import journal
from twelve.modules.credits.adapters.tables import accounts, holds
from twelve.modules.credits.api import Hold, InsufficientQuota, PlaceHold, Settlement, SweepResult

log = get_logger("twelve.credits.holds")


class HoldBook:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def hold(self, command: PlaceHold) -> Hold:
        now = time.time()
        held = Hold(
            id=f"hld_{secrets.token_hex(12)}",
            customer_id=command.customer_id,
            amount_micros=command.amount_micros,
            expires_at=now + command.ttl_seconds,
        )
        h = command.amount_micros
        async with UnitOfWork(self._db) as uow:
            conn = uow.connection
            taken = await conn.execute(
                update(accounts)
                .where(accounts.c.id == command.customer_id)
                .where(accounts.c.balance - accounts.c.held >= h)
                .values(held=accounts.c.held + h)
            )
            if taken.rowcount != 1:
                raise InsufficientQuota(
                    "You exceeded your current quota: the balance available cannot cover this "
                    "request's worst-case cost. Add credits or lower max_tokens."
                )
            await conn.execute(
                insert(holds).values(
                    id=held.id,
                    account_id=command.customer_id,
                    amount=h,
                    state="open",
                    request_id=command.request_id[:128],
                    created_at=now,
                    expires_at=held.expires_at,
                    charged=None,
                    overrun=False,
                    at_hold=False,
                )
            )
        return held

    async def settle(self, hold_id: str, cost_micros: int | None) -> Settlement:
        return await self._close(hold_id, cost_micros, charge=True)

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
        return SweepResult(settled=settled, voided=0)

    async def _close(self, hold_id: str, cost_micros: int | None, *, charge: bool) -> Settlement:
        async with UnitOfWork(self._db) as uow:
            conn = uow.connection
            row = (
                await conn.execute(
                    select(holds.c.account_id, holds.c.amount).where(
                        holds.c.id == hold_id, holds.c.state == "open"
                    )
                )
            ).first()
            if row is None:
                return Settlement(hold_id=hold_id, applied=False)
            account, amount = row
            charged = amount if cost_micros is None else max(cost_micros, 0)
            overrun = charged > amount
            closed = await conn.execute(
                update(holds)
                .where(holds.c.id == hold_id, holds.c.state == "open")
                .values(
                    state="settled" if charge else "voided",
                    charged=charged,
                    overrun=overrun,
                    at_hold=cost_micros is None,
                )
            )
            if closed.rowcount != 1:  # settled meanwhile by another process
                return Settlement(hold_id=hold_id, applied=False)
            await conn.execute(
                update(accounts)
                .where(accounts.c.id == account)
                .values(held=accounts.c.held - amount, balance=accounts.c.balance - charged)
            )
            if charged:
                await journal.post(
                    conn,
                    kind="charge",
                    debit=account,
                    credit=journal.REVENUE,
                    micros=charged,
                    reason="overrun" if overrun else "usage",
                    hold_id=hold_id,
                )
        if overrun:
            log.warning("hold_overrun", hold_id=hold_id, held=amount, charged=charged)
        return Settlement(hold_id=hold_id, applied=True, charged_micros=charged, overrun=overrun)
