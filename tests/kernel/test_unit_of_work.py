"""A unit of work commits its rows and its events together, or nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.databases import postgres_url
from twelve.kernel.db import Database
from twelve.kernel.unit_of_work import UnitOfWork

metadata = MetaData()
rows = Table("rows", metadata, Column("id", Integer, primary_key=True), Column("v", String(20)))
outbox = Table("outbox", metadata, Column("id", Integer, primary_key=True), Column("e", String(20)))


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    async def ready(database: Database) -> Database:
        await database.create_schema()
        async with database.write() as conn:
            await conn.run_sync(metadata.create_all)
        return database

    if backend == "sqlite":
        database = await ready(Database("t", f"sqlite:///{tmp_path / 't.db'}"))
        yield database
        await database.dispose()
        return
    async with postgres_url() as url:
        database = await ready(Database("t", url, schema="t"))
        yield database
        await database.dispose()


async def write_events(conn: AsyncConnection, events: list[Any]) -> None:
    for event in events:
        if event == "poison":
            raise ValueError("cannot store this event")
        await conn.execute(insert(outbox).values(e=event))


async def add_row_and_publish(db: Database, event: str, *, outbox: bool) -> None:
    async with UnitOfWork(db, outbox=write_events if outbox else None) as uow:
        await uow.connection.execute(insert(rows).values(v="a"))
        uow.publish(event)


async def count(db: Database, table: Table) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_rows_and_events_commit_together(db: Database) -> None:
    done: list[str] = []
    async with UnitOfWork(db, outbox=write_events) as uow:
        await uow.connection.execute(insert(rows).values(v="a"))
        await uow.connection.execute(insert(rows).values(v="b"))
        uow.publish("RowsAdded")
        uow.after_commit(lambda: done.append("after"))
        assert done == []
    assert (await count(db, rows), await count(db, outbox), done) == (2, 1, ["after"])


async def test_a_failure_inside_rolls_everything_back(db: Database) -> None:
    done: list[str] = []

    async def failing_command() -> None:
        async with UnitOfWork(db, outbox=write_events) as uow:
            await uow.connection.execute(insert(rows).values(v="a"))
            uow.publish("RowsAdded")
            uow.after_commit(lambda: done.append("after"))
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        await failing_command()
    assert (await count(db, rows), await count(db, outbox), done) == (0, 0, [])


async def test_an_event_that_cannot_be_stored_rolls_the_rows_back(db: Database) -> None:
    with pytest.raises(ValueError, match="cannot store"):
        await add_row_and_publish(db, "poison", outbox=True)
    assert await count(db, rows) == 0


async def test_publishing_without_an_outbox_is_refused_and_nothing_is_written(db: Database) -> None:
    with pytest.raises(RuntimeError, match="no outbox"):
        await add_row_and_publish(db, "RowsAdded", outbox=False)
    assert await count(db, rows) == 0


async def test_the_connection_is_only_usable_while_open(db: Database) -> None:
    uow = UnitOfWork(db)
    with pytest.raises(RuntimeError, match="not open"):
        _ = uow.connection
