"""Real databases for store tests: a SQLite file, and a fresh PostgreSQL database per test.

PostgreSQL is the server on 127.0.0.1:5432 (trust auth). Each test gets its own database, created
and dropped around it, and the module lives in a schema of its own there, as in production.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from twelve.kernel.db import Database
from twelve.kernel.migrations import upgrade

PG_ADMIN_DSN = os.environ.get("TWELVE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
MODULES = Path(__file__).resolve().parent.parent / "src" / "twelve" / "modules"


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
