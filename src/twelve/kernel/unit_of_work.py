"""A unit of work: every write a command makes in its module's database commits together, or none.

A service opens one per command (`async with UnitOfWork(db) as uow:`) and hands `uow.connection` to
each of its stores, so a business row, its ledger entries and the events it publishes land in one
transaction. Events are collected with `publish` and written by the `outbox` hook (the module's
outbox table, when the events module provides one) inside that same transaction, just before the
commit; `after_commit` callbacks (cache invalidation, wake-ups) run only once the commit is durable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from twelve.kernel.db import Database

OutboxWriter = Callable[[AsyncConnection, list[Any]], Awaitable[None]]


class UnitOfWork:
    def __init__(self, db: Database, *, outbox: OutboxWriter | None = None) -> None:
        self._db = db
        self._outbox = outbox
        self._transaction: AbstractAsyncContextManager[AsyncConnection] | None = None
        self._connection: AsyncConnection | None = None
        self._events: list[Any] = []
        self._after_commit: list[Callable[[], None]] = []

    @property
    def connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open: use `async with`")
        return self._connection

    def publish(self, event: Any) -> None:
        """Queue `event` to be written with this unit of work's rows."""
        self._events.append(event)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    async def __aenter__(self) -> UnitOfWork:
        self._transaction = self._db.write()
        self._connection = await self._transaction.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._transaction is not None
        transaction, self._transaction = self._transaction, None
        try:
            if exc is None and self._events:
                if self._outbox is None:
                    raise RuntimeError("events were published but this module has no outbox")
                await self._outbox(self.connection, list(self._events))
        except BaseException as failure:
            await transaction.__aexit__(type(failure), failure, failure.__traceback__)
            raise
        else:
            await transaction.__aexit__(exc_type, exc, traceback)
        finally:
            self._connection = None
            self._events.clear()
        if exc is None:
            for callback in self._after_commit:
                callback()
        self._after_commit.clear()
