from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, text

from twelve.kernel.db import Database, module_database_url

metadata = MetaData()
counter = Table("counter", metadata, Column("n", Integer, nullable=False))


async def test_sqlite_is_wal_with_a_busy_timeout(tmp_path: Path) -> None:
    db = Database("x", f"sqlite:///{tmp_path / 'x.db'}")
    async with db.read() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
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
