"""The credits service: customers for now, kept in the module's own database."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from twelve.kernel.db import Database
from twelve.kernel.errors import Conflict
from twelve.kernel.text import has_control_characters
from twelve.modules.credits.adapters.tables import customers
from twelve.modules.credits.api import CreateCustomer, Customer

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


class CreditsService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_customer(self, command: CreateCustomer) -> Customer:
        customer = Customer(
            id=f"cus_{secrets.token_hex(12)}", name=command.name, created_at=int(time.time())
        )
        try:
            async with self._db.write() as conn:
                await conn.execute(insert(customers).values(**customer.model_dump()))
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

    async def _one(self, where: object, value: str) -> Customer | None:
        if has_control_characters(value):
            return None  # matches nothing, and NUL would be an error on PostgreSQL
        async with self._db.read() as conn:
            row = (await conn.execute(select(customers).where(where))).first()  # type: ignore[arg-type]
        return _customer(row._mapping) if row else None


def _customer(row: RowMapping) -> Customer:
    return Customer(id=row["id"], name=row["name"], created_at=row["created_at"])
