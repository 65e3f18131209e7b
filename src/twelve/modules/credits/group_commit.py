"""Group commit for the ledger on SQLite: many holds and settles, one transaction.

SQLite has one writer at a time, and a transaction costs far more than the statements in it
(BEGIN IMMEDIATE, the WAL commit, and a thread hop per statement through aiosqlite). So every
hold and settle is queued here and a single writer thread runs whatever has queued up in ONE
`BEGIN IMMEDIATE` transaction, over a plain `sqlite3` connection (the driver itself: SQLAlchemy's
per-statement work cost more than the statements, bench/credits.py measures it), then wakes each
waiter with its own result. Each operation is still all-or-nothing: when a batch fails, its
operations are run again one transaction each, so that only the one at fault fails. Other
processes writing the same file queue behind BEGIN IMMEDIATE as usual (the busy timeout).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.engine import URL

from twelve.kernel.db import BUSY_TIMEOUT_MS

T = TypeVar("T")
Operation = Callable[[sqlite3.Connection], Any]


class GroupCommit:
    def __init__(self, url: URL) -> None:
        self._path = url.database or ":memory:"
        self._conn: sqlite3.Connection | None = None  # opened by the writer thread
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="credits-writer")
        self._queue: list[tuple[Operation, asyncio.Future[Any]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append((operation, future))
        if self._flushing is None:
            self._flushing = loop.create_task(self._flush())
        # Shielded: a cancelled caller must not lose track of a write that may have committed;
        # the write itself goes on (the finaliser's settling relies on this too).
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                outcomes = await loop.run_in_executor(self._thread, self._write, batch)
                for (_op, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self._flushing = None

    def _write(self, batch: list[tuple[Operation, Any]]) -> list[tuple[bool, Any]]:
        """In the writer thread: the batch in one transaction, else each op in its own."""
        conn = self._connection()
        if len(batch) > 1:
            try:
                return [(True, value) for value in _transaction(conn, [op for op, _f in batch])]
            except Exception:
                pass
        return [self._alone(conn, op) for op, _future in batch]

    def _alone(self, conn: sqlite3.Connection, op: Operation) -> tuple[bool, Any]:
        try:
            return True, _transaction(conn, [op])[0]
        except Exception as exc:
            return False, exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # Autocommit mode (isolation_level=None): the transactions are ours, BEGIN IMMEDIATE.
            conn = sqlite3.connect(
                self._path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._conn = conn
        return self._conn

    async def close(self) -> None:
        if self._flushing is not None:
            await self._flushing
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.get_running_loop().run_in_executor(self._thread, conn.close)
        self._thread.shutdown(wait=True)


def _transaction(conn: sqlite3.Connection, ops: list[Operation]) -> list[Any]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        values = [op(conn) for op in ops]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    return values
