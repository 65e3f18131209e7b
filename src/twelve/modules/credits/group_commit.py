"""Group commit for the ledger on SQLite: many holds and settles, one transaction.

SQLite has one writer at a time, and a transaction costs far more than the statements in it
(BEGIN IMMEDIATE, the WAL commit, and a thread hop per statement through aiosqlite). So every
hold and settle is queued here and a single writer thread runs whatever has queued up in ONE
`BEGIN IMMEDIATE` transaction, over a plain synchronous connection, then wakes each waiter with
its own result. Each operation is still all-or-nothing: when a batch fails, its operations are
run again one transaction each, so that only the one at fault fails. Other processes writing the
same file queue behind BEGIN IMMEDIATE as usual (the busy timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import URL

from twelve.kernel.db import BUSY_TIMEOUT_MS

T = TypeVar("T")
Operation = Callable[[Connection], Any]


class GroupCommit:
    def __init__(self, url: URL) -> None:
        self._engine = create_engine(
            url.set(drivername="sqlite+pysqlite"),
            connect_args={
                "timeout": BUSY_TIMEOUT_MS / 1000,
                "isolation_level": None,
                "check_same_thread": False,
            },
            pool_size=1,
            max_overflow=0,
        )
        event.listen(self._engine, "connect", _on_connect)
        event.listen(self._engine, "begin", _on_begin)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="credits-writer")
        self._queue: list[tuple[Operation, asyncio.Future[Any]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def run(self, operation: Callable[[Connection], T]) -> T:
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
        if len(batch) > 1:
            try:
                with self._engine.begin() as conn:
                    return [(True, op(conn)) for op, _future in batch]
            except Exception:
                pass
        return [self._alone(op) for op, _future in batch]

    def _alone(self, op: Operation) -> tuple[bool, Any]:
        try:
            with self._engine.begin() as conn:
                return True, op(conn)
        except Exception as exc:
            return False, exc

    async def close(self) -> None:
        if self._flushing is not None:
            await self._flushing
        self._thread.shutdown(wait=True)
        self._engine.dispose()


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _on_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
