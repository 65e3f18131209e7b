"""The event bus on the real NATS JetStream server (127.0.0.1:4222): the outbox relayed through
it survives a relay's restart with no loss and no duplicate; a failing subscriber is retried,
then its event is dead-lettered."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from sqlalchemy import select

from tests.databases import module_database
from twelve.kernel.db import Database
from twelve.kernel.event_bus import Event
from twelve.kernel.nats_bus import NatsBus
from twelve.kernel.outbox import OutboxRelay, ensure_outbox, outbox, outbox_writer
from twelve.kernel.unit_of_work import UnitOfWork

NATS_URL = os.environ.get("TWELVE_TEST_NATS_URL", "nats://127.0.0.1:4222")


async def nats_missing() -> str | None:
    try:
        connection = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0)
    except Exception as exc:
        return f"NATS is not reachable at {NATS_URL} ({type(exc).__name__})"
    await connection.close()
    return None


@pytest.fixture
async def bus_url() -> str:
    missing = await nats_missing()
    if missing is not None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI needs NATS: {missing}", pytrace=False)
        pytest.skip(missing)
    return NATS_URL


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with module_database("events", "sqlite", tmp_path) as database:
        await ensure_outbox(database)
        yield database


async def test_the_relay_restarts_without_loss_or_duplicates(bus_url: str, db: Database) -> None:
    module = "t" + secrets.token_hex(4)  # a subject space of this test's own
    async with UnitOfWork(db, outbox=outbox_writer(module)) as uow:
        for n in range(50):
            uow.publish({"type": "thing.done", "n": n})

    received: list[Event] = []
    all_in = asyncio.Event()

    async def handler(event: Event) -> None:
        received.append(event)
        if len(received) >= 50:
            all_in.set()

    consumer = NatsBus(bus_url)
    consumer.subscribe(f"twelve.{module}.>", f"sub_{module}", handler)
    await consumer.start()
    first = NatsBus(bus_url)
    await first.start()
    try:
        await OutboxRelay(db, first, batch=20).relay_once()
        # The first relay then sends five more and dies before marking them relayed.
        async with db.read() as conn:
            unmarked = (
                await conn.execute(
                    select(outbox).where(outbox.c.relayed_ms.is_(None)).order_by(outbox.c.seq)
                )
            ).all()
        for row in unmarked[:5]:
            await first.publish(Event(row.id, row.subject, {"type": "thing.done"}))
        await first.stop()

        second = NatsBus(bus_url)
        await second.start()
        try:
            relay = OutboxRelay(db, second, batch=20)
            while await relay.relay_once():
                pass
        finally:
            await second.stop()
        await asyncio.wait_for(all_in.wait(), 15)
        await asyncio.sleep(1.0)  # room for a duplicate to arrive, were there one
    finally:
        await consumer.stop()
    assert len(received) == 50
    assert len({event.id for event in received}) == 50
    assert {event.subject for event in received} == {f"twelve.{module}.thing.done"}


async def test_a_failing_subscriber_is_retried_then_dead_lettered(bus_url: str) -> None:
    module = "t" + secrets.token_hex(4)
    attempts: list[str] = []

    async def failing(event: Event) -> None:
        attempts.append(event.id)
        raise RuntimeError("this subscriber always fails")

    bus = NatsBus(bus_url, max_deliver=2, backoff=[0.2])
    bus.subscribe(f"twelve.{module}.>", f"sub_{module}", failing)
    await bus.start()
    dead = await nats.connect(bus_url)
    try:
        js = dead.jetstream()
        watcher = await js.subscribe(f"twelve_dead.twelve.{module}.>", ordered_consumer=True)
        await bus.publish(Event("evt_" + module, f"twelve.{module}.thing.failed", {"n": 1}))
        copied = await watcher.next_msg(timeout=15)
        assert copied.subject == f"twelve_dead.twelve.{module}.thing.failed"
        assert attempts == ["evt_" + module] * 2
    finally:
        await dead.close()
        await bus.stop()
