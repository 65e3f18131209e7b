"""The `workers` table: each worker's heartbeat, and which workers have gone quiet.

A worker writes `seen_at` every `heartbeat_seconds`; one that stops cleanly writes 0, so its
jobs are handed over at once instead of after `takeover_seconds`. The rows are what every live
worker's reconciler reads to find the dead ones (see `service.py`).
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from twelve.kernel.db import Database
from twelve.modules.jobs.adapters.tables import workers


class WorkerRows:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._started = int(time.time())

    async def beat(self, name: str, seen_at: float | None = None) -> None:
        """Say that worker `name` (this process) is alive now, or has stopped (`seen_at` 0)."""
        seen = time.time() if seen_at is None else seen_at
        dialect: Any = sqlite if self._db.is_sqlite else postgresql
        statement = dialect.insert(workers).values(
            name=name,
            host=socket.gethostname()[:255],
            pid=os.getpid(),
            started_at=self._started,
            seen_at=seen,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[workers.c.name],
            set_={"host": statement.excluded.host, "pid": statement.excluded.pid,
                  "started_at": statement.excluded.started_at, "seen_at": seen},
        )  # fmt: skip
        async with self._db.write() as conn:
            await conn.execute(statement)

    async def quiet(self, since: float, besides: str) -> list[str]:
        """Workers other than `besides` not seen since `since` (unix seconds)."""
        query = select(workers.c.name).where(workers.c.seen_at < since, workers.c.name != besides)
        async with self._db.read() as conn:
            return list((await conn.execute(query)).scalars())

    async def forget(self, name: str, since: float) -> bool:
        """Drop `name`'s row if it is still quiet since `since` (it did not come back meanwhile):
        whether this caller dropped it."""
        async with self._db.write() as conn:
            done = await conn.execute(
                delete(workers).where(workers.c.name == name, workers.c.seen_at < since)
            )
        return done.rowcount == 1

    async def all(self) -> list[dict[str, Any]]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(workers).order_by(workers.c.name))).all()
        return [dict(r._mapping) for r in rows]
