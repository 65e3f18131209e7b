"""The webhook deliveries table: stored when asked for, claimed when due, marked after each attempt.

Sending is at least once and safe with several processes: a sender claims a due delivery by
moving its `next_attempt_ms` forward past the attempt's timeout with a conditional update (only
one process wins a row), so a delivery is retried by someone else only if its sender died.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError

from twelve.kernel.db import Database
from twelve.modules.events.adapters.tables import deliveries
from twelve.modules.events.api import DeliveryStatus, WebhookDelivery, WebhookPage


@dataclass(frozen=True)
class Due:
    """A claimed delivery, with what its next attempt sends."""

    id: str
    customer_id: str
    url: str
    payload: str
    traceparent: str | None
    attempts: int


def _delivery(row: Any) -> WebhookDelivery:
    next_ms = row.next_attempt_ms
    return WebhookDelivery(
        id=row.id,
        customer_id=row.customer_id,
        url=row.url,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        last_status_code=row.last_status_code,
        created_at=row.created_at,
        next_attempt_at=None if next_ms is None else next_ms // 1000,
        delivered_at=row.delivered_at,
    )


class Deliveries:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, values: dict[str, Any]) -> tuple[WebhookDelivery, bool]:
        """Store a new delivery; (the stored one, False) when its id is taken already."""
        try:
            async with self._db.write() as conn:
                await conn.execute(deliveries.insert().values(**values))
        except IntegrityError:
            found = await self.get(values["id"])
            if found is None:  # pragma: no cover - deleted in between; nothing deletes rows
                raise
            return found, False
        stored = await self.get(values["id"])
        assert stored is not None
        return stored, True

    async def get(self, delivery_id: str) -> WebhookDelivery | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))
            ).first()
        return None if row is None else _delivery(row)

    async def page(
        self,
        status: DeliveryStatus | None,
        customer_id: str | None,
        limit: int,
        after: str | None,
    ) -> WebhookPage:
        query = select(deliveries).order_by(deliveries.c.id).limit(limit + 1)
        if status is not None:
            query = query.where(deliveries.c.status == status)
        if customer_id is not None:
            query = query.where(deliveries.c.customer_id == customer_id)
        if after is not None:
            query = query.where(deliveries.c.id > after)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return WebhookPage(data=[_delivery(r) for r in rows[:limit]], has_more=len(rows) > limit)

    async def claim(self, now_ms: int, lease_ms: int, limit: int) -> list[Due]:
        """Due pending deliveries, each now this caller's until `now_ms + lease_ms`."""
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    select(deliveries)
                    .where(deliveries.c.status == "pending")
                    .where(deliveries.c.next_attempt_ms <= now_ms)
                    .order_by(deliveries.c.next_attempt_ms)
                    .limit(limit)
                )
            ).all()
        claimed: list[Due] = []
        for row in rows:
            async with self._db.write() as conn:
                won = await conn.execute(
                    update(deliveries)
                    .where(
                        and_(
                            deliveries.c.id == row.id,
                            deliveries.c.status == "pending",
                            deliveries.c.next_attempt_ms == row.next_attempt_ms,
                        )
                    )
                    .values(next_attempt_ms=now_ms + lease_ms)
                )
            if won.rowcount == 1:
                due = Due(
                    row.id, row.customer_id, row.url, row.payload, row.traceparent, row.attempts
                )
                claimed.append(due)
        return claimed

    async def delivered(self, delivery_id: str, attempts: int, status_code: int, now: int) -> None:
        await self._set(
            delivery_id,
            status="delivered",
            attempts=attempts,
            last_status_code=status_code,
            last_error=None,
            next_attempt_ms=None,
            delivered_at=now,
        )

    async def failed(
        self,
        delivery_id: str,
        attempts: int,
        error: str,
        status_code: int | None,
        next_attempt_ms: int | None,
    ) -> None:
        """Record a failed attempt; with no next attempt the delivery is dead."""
        await self._set(
            delivery_id,
            status="pending" if next_attempt_ms is not None else "dead",
            attempts=attempts,
            last_status_code=status_code,
            last_error=error[:500],
            next_attempt_ms=next_attempt_ms,
        )

    async def requeue(self, delivery_id: str, now_ms: int) -> bool:
        """Send again from the first attempt, whatever its status (an admin's replay); False if
        unknown."""
        async with self._db.write() as conn:
            done = await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(status="pending", attempts=0, next_attempt_ms=now_ms, delivered_at=None)
            )
        return done.rowcount == 1

    async def pending_count(self) -> int:
        async with self._db.read() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(deliveries).where(deliveries.c.status == "pending")
            )
        return int(count or 0)

    async def _set(self, delivery_id: str, **values: Any) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(deliveries).where(deliveries.c.id == delivery_id).values(**values)
            )
