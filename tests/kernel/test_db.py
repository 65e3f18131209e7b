from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, text

from twelve.kernel.db import BUSY_TIMEOUT_MS, Database, module_database_url
from twelve.kernel.errors import DatabaseBusy, DatabaseUnavailable

metadata = MetaData()
counter = Table("counter", metadata, Column("n", Integer, nullable=False))


async def test_sqlite_is_wal_with_a_busy_timeout(tmp_path: Path) -> None:
    db = Database("x", f"sqlite:///{tmp_path / 'x.db'}")
    async with db.read() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == BUSY_TIMEOUT_MS
    assert await db.ping()
    await db.dispose()


async def test_concurrent_sqlite_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    db = Database("x", f"sqlite:///{tmp_path / 'x.db'}")
    async with db.write() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(counter.insert().values(n=0))

    async def increment() -> None:
        # Read-modify-write: without BEGIN IMMEDIATE two writers would deadlock on the upgrade.
        async with db.write() as conn:
            n = (await conn.execute(text("SELECT n FROM counter"))).scalar_one()
            await asyncio.sleep(0)
            await conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    await asyncio.gather(*(increment() for _ in range(25)))
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT n FROM counter"))).scalar_one() == 25
    await db.dispose()


async def test_writers_of_one_process_take_turns(tmp_path: Path) -> None:
    """One writer of a process waits on the file's lock at a time; the rest queue in-process, so
    they cannot crowd out another process's writer (SQLite's busy handler polls, unfairly)."""
    db = Database("x", f"sqlite:///{tmp_path / 'x.db'}")
    inside, most = 0, 0

    async def write() -> None:
        nonlocal inside, most
        async with db.write() as conn:
            inside += 1
            most = max(most, inside)
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(write() for _ in range(20)))
    assert most == 1
    await db.dispose()


async def test_a_lock_held_past_the_busy_timeout_is_a_retryable_503(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    db = Database("credits", f"sqlite:///{path}", busy_timeout_ms=200)
    async with db.write() as conn:
        await conn.run_sync(metadata.create_all)
    held, release = threading.Event(), threading.Event()

    def other_process_writer() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(10)
        other.execute("ROLLBACK")
        other.close()

    thread = threading.Thread(target=other_process_writer)
    thread.start()
    try:
        await asyncio.to_thread(held.wait, 10)
        with pytest.raises(DatabaseBusy) as busy:
            async with db.write() as conn:
                await conn.execute(counter.insert().values(n=1))
        assert busy.value.status == 503 and busy.value.headers["Retry-After"] == "1"
    finally:
        release.set()
        await asyncio.to_thread(thread.join, 10)
    async with db.write() as conn:  # the lock is free again: the next writer goes through
        await conn.execute(counter.insert().values(n=2))
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT n FROM counter"))).scalars().all() == [2]
    await db.dispose()


def test_module_database_urls(tmp_path: Path) -> None:
    url, schema = module_database_url(
        "credits", data_dir=tmp_path, database_url=None, module_url=None
    )
    assert url == f"sqlite:///{tmp_path.resolve() / 'credits.db'}" and schema is None
    pg = "postgresql://u@h/twelve"
    assert module_database_url("credits", data_dir=tmp_path, database_url=pg, module_url=None) == (
        pg,
        "credits",
    )
    own = "postgresql://u@h/credits"
    assert module_database_url("credits", data_dir=tmp_path, database_url=pg, module_url=own) == (
        own,
        None,
    )


async def test_unreachable_database_is_not_ready() -> None:
    db = Database("x", "postgresql://nobody@127.0.0.1:1/none")
    assert not await db.ping()
    await db.dispose()


async def test_a_server_that_refuses_connections_is_a_retryable_503() -> None:
    """Down, or out of connections ("too many clients"): the request may be tried again; the
    OpenAI-shaped 503 says so, where an unhandled error was a 500."""
    db = Database("credits", "postgresql://nobody@127.0.0.1:1/none")
    for use in (db.read, db.write):
        with pytest.raises(DatabaseUnavailable) as refused:
            async with use() as conn:
                await conn.execute(text("SELECT 1"))
        error = refused.value
        assert error.status == 503 and error.code == "database_unavailable"
        assert error.headers == {"Retry-After": "1"} and "credits" in error.message
    await db.dispose()
