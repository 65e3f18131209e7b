"""Migration 0005 on SQLite (batch mode) and PostgreSQL: a usage table written before it keeps its
rows, which read 0 images, 0 audio seconds and 0 characters, and new rows store their units; the
migration goes down and up again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from tests.databases import MODULES, postgres_url
from twelve.kernel.db import Database
from twelve.kernel.migrations import upgrade
from twelve.modules.credits.api import UsageQuery, UsageRecord
from twelve.modules.credits.usage_book import UsageBook

MIGRATIONS = MODULES / "credits" / "adapters" / "migrations"
# A row as the gateway stored it before the unit columns (every column 0004 made).
OLD_ROW = (
    "INSERT INTO usage (request_id, customer_id, key_id, model, deployment, endpoint, outcome,"
    " input_tokens, output_tokens, cost_micros, unpriced, usage_unknown, at, day) VALUES"
    " ('old', 'cus_a', 'key_1', 'painter', '', 'images_generations', 'ok', 0, 0, 80000,"
    " false, false, 1772323200, '2026-03-01')"
)


@asynccontextmanager
async def empty_database(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    if backend == "sqlite":
        db = Database("credits", f"sqlite:///{tmp_path / 'credits.db'}")
        try:
            yield db
        finally:
            await db.dispose()
        return
    async with postgres_url() as url:
        db = Database("credits", url, schema="credits")
        try:
            yield db
        finally:
            await db.dispose()


async def migrate(db: Database, direction: str, revision: str) -> None:
    """`alembic upgrade/downgrade <revision>` on the module's history, as start-up runs it."""
    await db.create_schema()
    async with db.write() as conn:

        def run(sync: object) -> None:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = sync
            getattr(command, direction)(config, revision)

        await conn.run_sync(run)


async def columns(db: Database) -> set[str]:
    async with db.read() as conn:
        result = await conn.execute(text("SELECT * FROM usage WHERE 1 = 0"))
        return set(result.keys())


async def test_rows_written_before_the_units_read_zero_units(backend: str, tmp_path: Path) -> None:
    async with empty_database(backend, tmp_path) as db:
        await migrate(db, "upgrade", "0004")
        async with db.write() as conn:
            await conn.execute(text(OLD_ROW))
        assert not {"images", "audio_seconds", "characters"} & await columns(db)

        await upgrade(db, MIGRATIONS)  # what start-up does: to the head
        assert {"images", "audio_seconds", "characters"} <= await columns(db)
        book = UsageBook(db)
        [old] = await book.usage(UsageQuery(group_by="model"))
        assert (old.requests, old.cost_micros) == (1, 80_000)
        assert (old.images, old.audio_seconds, old.characters) == (0, 0.0, 0)
        new = UsageRecord(
            request_id="new", customer_id="cus_a", key_id="key_1", model="painter", images=3,
            audio_seconds=1.5, characters=9, cost_micros=120_000, at=1772323300,
        )  # fmt: skip
        assert await book.record_usage([new]) == 1
        [both] = await book.usage(UsageQuery(group_by="model"))
        assert (both.requests, both.images, both.audio_seconds, both.characters) == (2, 3, 1.5, 9)

        await migrate(db, "downgrade", "0004")
        assert not {"images", "audio_seconds", "characters"} & await columns(db)
        await upgrade(db, MIGRATIONS)
        [again] = await book.usage(UsageQuery(group_by="model"))
        assert (again.requests, again.images, again.cost_micros) == (2, 0, 200_000)
