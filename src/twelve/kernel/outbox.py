"""The transactional outbox: events written in the same transaction as the rows they describe,
then relayed to the event bus.

Every module that publishes has an `outbox` table in its own database. It is kernel plumbing, like
Alembic's own version table: the relay creates it (idempotently) at start-up, so no module's
migration history carries it. `outbox_writer(module)` is the unit of work's hook that inserts the
events a command published; `OutboxRelay` sends unrelayed rows to the bus in order, marks them
relayed, and forgets relayed rows after a day. A crash between sending and marking sends a row
again with the same id: NATS drops it within its duplicate window (`Nats-Msg-Id`), and in-process
subscribers are idempotent on it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import orjson
import structlog
from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table, Text, delete, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncConnection

from twelve.kernel.background import cancel_and_wait
from twelve.kernel.db import Database
from twelve.kernel.event_bus import Event, EventBus
from twelve.kernel.unit_of_work import OutboxWriter

log = structlog.get_logger("twelve.events")

outbox = Table(
    "outbox",
    MetaData(),
    Column("seq", BigInteger, nullable=False),
    Column("id", String(40), primary_key=True),
    Column("subject", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("relayed_ms", BigInteger, nullable=True),
    Index("ix_outbox_pending", "relayed_ms", "seq"),
)
KEEP_RELAYED_MS = 86_400_000


def outbox_writer(module: str) -> OutboxWriter:
    """The hook a unit of work calls with its published events (dicts with a `type`)."""

    async def write(connection: AsyncConnection, events: list[Any]) -> None:
        now = time.time_ns()
        rows = [
            {
                # Nanoseconds, then the event's place in the command: the relay's order.
                "seq": now + n,
                "id": "evt_" + secrets.token_hex(12),
                "subject": f"twelve.{module}.{event['type']}",
                "payload": orjson.dumps(event).decode(),
                "created_ms": now // 1_000_000,
            }
            for n, event in enumerate(events)
        ]
        await connection.execute(outbox.insert(), rows)

    return write


async def ensure_outbox(database: Database) -> None:
    async with database.write() as conn:
        await conn.run_sync(lambda sync: outbox.create(sync, checkfirst=True))


class OutboxRelay:
    def __init__(
        self, database: Database, bus: EventBus, *, poll_seconds: float = 0.2, batch: int = 100
    ) -> None:
        self._db = database
        self._bus = bus
        self._poll = poll_seconds
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"twelve-outbox-{self._db.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            try:
                while await self.relay_once():
                    pass
            except Exception:
                log.exception("outbox relay: a round failed; trying again", module=self._db.name)
            await asyncio.sleep(self._poll)

    async def relay_once(self) -> int:
        """Send one batch of unrelayed events, in order; how many were sent."""
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    select(outbox.c.id, outbox.c.subject, outbox.c.payload)
                    .where(outbox.c.relayed_ms.is_(None))
                    .order_by(outbox.c.seq)
                    .limit(self._batch)
                )
            ).all()
        for row in rows:
            # In order, one at a time: an event is marked only once the bus has it, and a
            # failure stops the batch, so nothing after it overtakes it.
            await self._bus.publish(Event(row.id, row.subject, orjson.loads(row.payload)))
            async with self._db.write() as conn:
                await conn.execute(
                    sql_update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(relayed_ms=int(time.time() * 1000))
                )
        if rows:
            await self._forget(int(time.time() * 1000) - KEEP_RELAYED_MS)
        return len(rows)

    async def _forget(self, before_ms: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(delete(outbox).where(outbox.c.relayed_ms < before_ms))
