"""Each customer's webhook signing secret, made on first use, and rotation with a grace period."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from twelve.kernel.db import Database
from twelve.modules.events.adapters.tables import signing_secrets
from twelve.modules.events.api import SigningSecret
from twelve.modules.events.signing import new_secret


class SecretBook:
    def __init__(self, database: Database, grace_seconds: int) -> None:
        self._db = database
        self._grace = grace_seconds

    async def current(self, customer_id: str) -> SigningSecret:
        row = await self._row(customer_id)
        if row is None:
            try:
                async with self._db.write() as conn:
                    await conn.execute(
                        signing_secrets.insert().values(
                            customer_id=customer_id,
                            secret=new_secret(),
                            created_at=int(time.time()),
                        )
                    )
            except IntegrityError:
                pass  # made by a concurrent first use: that one is the secret
            row = await self._row(customer_id)
            assert row is not None
        return SigningSecret(customer_id=customer_id, secret=row.secret, created_at=row.created_at)

    async def rotate(self, customer_id: str) -> SigningSecret:
        old = await self.current(customer_id)
        now = int(time.time())
        fresh = new_secret()
        async with self._db.write() as conn:
            await conn.execute(
                update(signing_secrets)
                .where(signing_secrets.c.customer_id == customer_id)
                .values(
                    secret=fresh,
                    created_at=now,
                    previous_secret=old.secret if self._grace else None,
                    previous_until=now + self._grace if self._grace else None,
                )
            )
        return SigningSecret(customer_id=customer_id, secret=fresh, created_at=now)

    async def signing_keys(self, customer_id: str) -> list[str]:
        """The secrets that sign a delivery now: the current one, and the replaced one while its
        grace period lasts."""
        row = await self._row(customer_id)
        if row is None:
            return [(await self.current(customer_id)).secret]
        keys = [row.secret]
        if row.previous_secret and (row.previous_until or 0) > time.time():
            keys.append(row.previous_secret)
        return keys

    async def _row(self, customer_id: str) -> Any:
        async with self._db.read() as conn:
            return (
                await conn.execute(
                    select(signing_secrets).where(signing_secrets.c.customer_id == customer_id)
                )
            ).first()
