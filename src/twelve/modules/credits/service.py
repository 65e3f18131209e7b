"""The credits service: customers, their accounts and ledger, and request holds, kept in the
module's own database. Holds are in `hold_book.py`, top-ups in `top_up.py`."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from twelve.kernel.db import Database
from twelve.kernel.errors import Conflict, InvalidRequest, NotFound
from twelve.kernel.quotas import Limits
from twelve.kernel.text import has_control_characters
from twelve.kernel.unit_of_work import UnitOfWork
from twelve.modules.credits import journal, top_up
from twelve.modules.credits.adapters.tables import accounts, customers, holds
from twelve.modules.credits.api import (
    Account,
    AddCredits,
    CreateCustomer,
    CreditGrant,
    Customer,
    Hold,
    LedgerEntry,
    PlaceHold,
    Settlement,
    SweepResult,
    UpdateCustomer,
)
from twelve.modules.credits.hold_book import HoldBook
from twelve.modules.credits.money import micros_to_usd, usd_to_micros

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


class CreditsService:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._holds = HoldBook(db)

    async def create_customer(self, command: CreateCustomer) -> Customer:
        customer = Customer(
            id=f"cus_{secrets.token_hex(12)}",
            name=command.name,
            created_at=int(time.time()),
            limits=Limits.model_validate(command.model_dump(include=_LIMITS)),
        )
        opening = usd_to_micros(command.credits)
        try:
            async with UnitOfWork(self._db) as uow:
                conn = uow.connection
                await conn.execute(insert(customers).values(**_row(customer)))
                await conn.execute(insert(accounts).values(id=customer.id, balance=opening, held=0))
                if opening:
                    await journal.fund(conn, customer.id, opening, "opening balance")
        except IntegrityError as exc:
            raise Conflict(
                f"A customer named {command.name!r} already exists.", param="name"
            ) from exc
        return customer

    async def get_customer(self, customer_id: str) -> Customer | None:
        return await self._one(customers.c.id == customer_id, customer_id)

    async def find_customer(self, name: str) -> Customer | None:
        return await self._one(customers.c.name == name, name)

    async def list_customers(self) -> list[Customer]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(customers).order_by(customers.c.created_at))).all()
        return [_customer(r._mapping) for r in rows]

    async def update_customer(self, customer_id: str, command: UpdateCustomer) -> Customer:
        """PATCH: only the fields sent change; a limit sent as null is cleared. Keys see new
        limits when their cached lookup is next refreshed (within the key cache's time)."""
        sent = command.model_fields_set
        if "name" in sent and command.name is None:
            raise InvalidRequest("`name` cannot be null.", param="name")
        values = {name: getattr(command, name) for name in sent}
        if has_control_characters(customer_id):
            raise _no_such_customer(customer_id)
        try:
            async with UnitOfWork(self._db) as uow:
                conn = uow.connection
                if values:
                    await conn.execute(
                        update(customers).where(customers.c.id == customer_id).values(**values)
                    )
                row = (
                    await conn.execute(select(customers).where(customers.c.id == customer_id))
                ).first()
                if row is None:
                    raise _no_such_customer(customer_id)
        except IntegrityError as exc:
            raise Conflict(
                f"A customer named {command.name!r} already exists.", param="name"
            ) from exc
        return _customer(row._mapping)

    async def add_credits(
        self, customer_id: str, command: AddCredits, idempotency_key: str | None = None
    ) -> CreditGrant:
        return await top_up.add_credits(self._db, customer_id, command, idempotency_key)

    async def account(self, customer_id: str) -> Account | None:
        if has_control_characters(customer_id):
            return None
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(customers, accounts.c.balance, accounts.c.held)
                    .join(accounts, accounts.c.id == customers.c.id)
                    .where(customers.c.id == customer_id)
                )
            ).first()
            if row is None:
                return None
            open_holds = (
                await conn.execute(
                    select(func.count()).where(
                        holds.c.account_id == customer_id, holds.c.state == "open"
                    )
                )
            ).scalar_one()
        m = row._mapping
        return Account(
            id=m["id"],
            name=m["name"],
            created_at=m["created_at"],
            rpm=m["rpm"],
            tpm=m["tpm"],
            max_concurrency=m["max_concurrency"],
            balance=micros_to_usd(m["balance"]),
            held=micros_to_usd(m["held"]),
            available=micros_to_usd(m["balance"] - m["held"]),
            balance_micros=m["balance"],
            held_micros=m["held"],
            open_holds=open_holds,
        )

    async def ledger(self, customer_id: str, limit: int = 100) -> list[LedgerEntry]:
        async with self._db.read() as conn:
            return await journal.entries(conn, customer_id, limit)

    async def hold(self, command: PlaceHold) -> Hold:
        return await self._holds.hold(command)

    async def settle(self, hold_id: str, cost_micros: int | None) -> Settlement:
        return await self._holds.settle(hold_id, cost_micros)

    async def release(self, hold_id: str) -> Settlement:
        return await self._holds.release(hold_id)

    async def sweep(self, now: float | None = None) -> SweepResult:
        return await self._holds.sweep(now)

    async def close(self) -> None:
        """Finish the writes queued for the SQLite group commit and stop its thread."""
        await self._holds.close()

    async def _one(self, where: object, value: str) -> Customer | None:
        if has_control_characters(value):
            return None  # matches nothing, and NUL would be an error on PostgreSQL
        async with self._db.read() as conn:
            row = (await conn.execute(select(customers).where(where))).first()  # type: ignore[arg-type]
        return _customer(row._mapping) if row else None


_LIMITS = set(Limits.model_fields)


def _no_such_customer(customer_id: str) -> NotFound:
    return NotFound(f"No such customer: {customer_id!r}.", param="customer")


def _row(customer: Customer) -> dict[str, object]:
    return customer.model_dump(exclude={"limits"}) | customer.limits.model_dump()


def _customer(row: RowMapping) -> Customer:
    return Customer(
        id=row["id"],
        name=row["name"],
        created_at=row["created_at"],
        limits=Limits(**{name: row[name] for name in _LIMITS}),
    )
