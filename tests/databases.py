"""Real databases for store tests: a SQLite file, and a fresh PostgreSQL database per test.

PostgreSQL is the server at `TWELVE_TEST_PG_DSN` (default 127.0.0.1:5432, user postgres, trust
auth). Each test gets its own database, created and dropped around it, and the module lives in a
schema of its own there, as in production. Whether the server answers is probed once per run
(`postgres_missing`), so that without it the PostgreSQL tests say so in one line.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

import asyncpg

from twelve.kernel.db import Database
from twelve.kernel.migrations import upgrade

PG_ADMIN_DSN = os.environ.get("TWELVE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
MODULES = Path(__file__).resolve().parent.parent / "src" / "twelve" / "modules"
_PROBE_SECONDS = 5.0


@cache
def postgres_missing() -> str | None:
    """None when the test PostgreSQL server answers; else one line saying what is missing."""

    async def probe() -> None:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=_PROBE_SECONDS)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        cause = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return (
            f"PostgreSQL is not reachable at {PG_ADMIN_DSN} ({cause}); start it, or point "
            "TWELVE_TEST_PG_DSN at a server whose user may create databases"
        )
    return None


@asynccontextmanager
async def postgres_url() -> AsyncIterator[str]:
    name = f"twelve_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def module_database(module: str, backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """`module`'s database on `backend` ("sqlite" or "postgres"), migrated to head."""
    if backend == "sqlite":
        db = Database(module, f"sqlite:///{tmp_path / f'{module}.db'}")
        await upgrade(db, MODULES / module / "adapters" / "migrations")
        try:
            yield db
        finally:
            await db.dispose()
        return
    async with postgres_url() as url:
        db = Database(module, url, schema=module)
        await upgrade(db, MODULES / module / "adapters" / "migrations")
        try:
            yield db
        finally:
            await db.dispose()
