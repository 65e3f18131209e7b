"""One async database per module: a SQLite file by default, PostgreSQL when configured.

SQLite gets WAL, a busy timeout and `BEGIN IMMEDIATE` for writers, so concurrent writers queue
instead of failing. Within a process, writers to one file also queue on an asyncio lock: SQLite's
busy handler polls, so eight writers of one process polling for the lock starve the one writer of
another process (a `twelve worker` next to `twelve serve`); with the lock each process has one
writer waiting at a time. A writer that still cannot get the file's lock within the busy timeout
gets `DatabaseBusy` (503 with Retry-After), never a 500; so does a PostgreSQL server that refuses
a connection (`DatabaseUnavailable`).

On PostgreSQL each module lives in its own schema (or its own database when given a URL of its
own), so no module can read another's tables by accident.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from twelve.kernel.errors import DatabaseBusy, DatabaseUnavailable

# As DBOS sets on its own SQLite system database: under a burst of writers from several processes
# on two cores, five seconds was seen to run out.
BUSY_TIMEOUT_MS = 30_000


class Database:
    """A module's database: an engine plus the schema its tables live in."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        schema: str | None = None,
        pool_size: int = 10,
        max_overflow: int = 10,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        self.name = name
        self._busy_ms = busy_timeout_ms
        self._pool = (pool_size, max_overflow)
        self.url = make_url(url)
        self.schema = schema
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = self._create_engine()
        self._writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _create_engine(self) -> AsyncEngine:
        if self.is_sqlite:
            if self.url.database:
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            # Pooled: opening an aiosqlite connection costs a thread and the PRAGMAs below.
            # A connection comes back to the pool rolled back (sqlite3's rollback() ends any
            # transaction we BEGAN), so a cancelled writer cannot keep the write lock.
            engine = create_async_engine(
                self.url.set(drivername="sqlite+aiosqlite"),
                pool_size=5,
                max_overflow=10,
                connect_args={"timeout": self._busy_ms / 1000, "isolation_level": None},
            )
            event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
            event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
            return engine
        connect_args: dict[str, Any] = {}
        if self.schema:
            connect_args["server_settings"] = {"search_path": self.schema}
        return create_async_engine(
            self.url.set(drivername="postgresql+asyncpg"),
            pool_size=self._pool[0],
            max_overflow=self._pool[1],
            pool_pre_ping=True,
            connect_args=connect_args,
        )

    @property
    def display_url(self) -> str:
        """The URL with its password hidden, for messages an operator reads."""
        return self.url.render_as_string(hide_password=True)

    async def create_schema(self) -> None:
        """Create this module's PostgreSQL schema if it has one (idempotent)."""
        if self.schema and not self.is_sqlite:
            async with self.engine.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with AsyncExitStack() as stack:
            yield await self._connected(stack)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits on success (BEGIN IMMEDIATE on SQLite)."""
        if not self.is_sqlite:
            async with AsyncExitStack() as stack:
                conn = await self._connected(stack)
                async with conn.begin():
                    yield conn
            return
        writers = self._writers_here()
        try:
            async with asyncio.timeout(self._busy_ms / 1000):
                await writers.acquire()
        except TimeoutError:
            raise DatabaseBusy(self.name) from None
        try:
            async with self.engine.connect() as conn:
                await conn.execution_options(twelve_write=True)
                async with conn.begin():
                    yield conn
        except OperationalError as exc:
            if "locked" in str(exc.orig) or "busy" in str(exc.orig):
                raise DatabaseBusy(self.name) from exc
            raise
        finally:
            writers.release()

    async def _connected(self, stack: AsyncExitStack) -> AsyncConnection:
        """A pooled connection, closed with `stack`. A server that refuses it (down, or out of
        connections: "too many clients"), or a pool with none free in time, is
        `DatabaseUnavailable`, a 503 to retry, not a 500."""
        try:
            return await stack.enter_async_context(self.engine.connect())
        except (DBAPIError, OSError, PoolTimeout) as exc:
            if self.is_sqlite:
                raise
            raise DatabaseUnavailable(self.name) from exc

    def _writers_here(self) -> asyncio.Lock:
        """This process's queue of writers on this loop (asyncio locks belong to one loop)."""
        loop = asyncio.get_running_loop()
        lock = self._writers.get(loop)
        if lock is None:
            lock = self._writers[loop] = asyncio.Lock()
        return lock

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # the busy timeout is sqlite3.connect's `timeout`
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    # pysqlite's own transaction handling is off (isolation_level=None), so SQLAlchemy's begin
    # is ours to emit. Writers take the write lock up front (BEGIN IMMEDIATE) so two writers
    # never deadlock upgrading a read lock; readers take none.
    immediate = conn.get_execution_options().get("twelve_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def module_database_url(
    module: str, *, data_dir: Path, database_url: str | None, module_url: str | None
) -> tuple[str, str | None]:
    """A module's URL and schema: its own URL, else a schema in the shared DSN, else SQLite."""
    if module_url:
        return module_url, None
    if database_url:
        return database_url, module
    return f"sqlite:///{(data_dir / f'{module}.db').resolve()}", None
