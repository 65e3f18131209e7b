"""The outbox: events commit with their rows or not at all, and the relay sends them in order,
again after a failure, never lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.databases import module_database
from twelve.kernel.db import Database
from twelve.kernel.event_bus import Event, InProcessBus, matches
from twelve.kernel.outbox import OutboxRelay, ensure_outbox, outbox, outbox_writer
from twelve.kernel.unit_of_work import UnitOfWork


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with module_database("events", backend, tmp_path) as database:
        await ensure_outbox(database)
        await ensure_outbox(database)  # idempotent: every start runs it
        yield database


async def rows(db: Database) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(outbox)) or 0)


async def test_events_commit_with_the_unit_of_work_or_not_at_all(db: Database) -> None:
    writer = outbox_writer("gateway")
    async with UnitOfWork(db, outbox=writer) as uow:
        uow.publish({"type": "api_key.created", "n": 1})
        uow.publish({"type": "api_key.revoked", "n": 2})
    assert await rows(db) == 2

    async def failing_command() -> None:
        async with UnitOfWork(db, outbox=writer) as uow:
            uow.publish({"type": "api_key.created", "n": 3})
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        await failing_command()
    assert await rows(db) == 2


async def test_the_relay_sends_in_order_and_again_after_a_failure(db: Database) -> None:
    async with UnitOfWork(db, outbox=outbox_writer("gateway")) as uow:
        for n in range(5):
            uow.publish({"type": "api_key.created", "n": n})
    bus = InProcessBus()
    seen: list[Event] = []
    failing = {"on": 2}

    async def handler(event: Event) -> None:
        if event.data["n"] == failing["on"]:
            failing["on"] = -1
            raise RuntimeError("the subscriber is down")
        seen.append(event)

    bus.subscribe("twelve.gateway.>", "admin", handler)
    relay = OutboxRelay(db, bus)
    with pytest.raises(RuntimeError):
        await relay.relay_once()
    assert [e.data["n"] for e in seen] == [0, 1]  # nothing after the failure overtook it
    assert await relay.relay_once() == 3
    assert [e.data["n"] for e in seen] == [0, 1, 2, 3, 4]
    assert {e.subject for e in seen} == {"twelve.gateway.api_key.created"}
    assert len({e.id for e in seen}) == 5
    assert await relay.relay_once() == 0


def test_subjects_match_the_nats_way() -> None:
    assert matches("twelve.gateway.>", "twelve.gateway.api_key.created")
    assert not matches("twelve.gateway.>", "twelve.gateway")
    assert matches("twelve.*.api_key.created", "twelve.gateway.api_key.created")
    assert not matches("twelve.*.created", "twelve.gateway.api_key.created")
    assert matches("twelve.jobs.job.succeeded", "twelve.jobs.job.succeeded")
    assert not matches("twelve.jobs.job.succeeded", "twelve.jobs.job.failed")
