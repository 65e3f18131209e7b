"""Alembic migrations, one history per module, applied at start-up.

Each module keeps its history in `adapters/migrations/` (an `env.py` that calls `run_env` and a
`versions/` folder). The version table lives in the module's own database or schema.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData

from twelve.kernel.db import Database


def _config(script_location: Path, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(database: Database, script_location: Path) -> None:
    """Bring `database` to the head of the history in `script_location`."""
    await database.create_schema()
    async with database.write() as conn:
        await conn.run_sync(lambda sync: command.upgrade(_config(script_location, sync), "head"))


def run_env(target_metadata: MetaData) -> None:
    """The body of every module's `env.py`: run online against the connection we were given."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("Twelve runs migrations from code; use `twelve migrate`, not alembic.")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()
