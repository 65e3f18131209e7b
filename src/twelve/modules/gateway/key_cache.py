"""The key-lookup cache: bounded, single-flight, refreshed ahead of expiry.

An entry answers for `ttl` seconds, so a revocation made in another process takes effect within
`ttl`. Past half its life an entry is refreshed in the background while it keeps answering, so
steady traffic never waits on the database; a missing or expired entry is looked up once however
many requests want it at the same moment.

`forget` (a revocation in this process) wins over a lookup already under way: the lookup's answer
is neither cached nor given to the requests waiting on it; they look the key up again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


@dataclass(eq=False)
class _Flight(Generic[V]):
    """One lookup under way, and whether a `forget` has made its answer stale."""

    future: asyncio.Future[V]
    started: float
    stale: bool = field(default=False)


class RefreshingCache(Generic[V]):
    def __init__(
        self, load: Callable[[str], Awaitable[V]], *, ttl: float, maxsize: int = 100_000
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._entries: LRUCache[str, tuple[V, float]] = LRUCache(maxsize=maxsize)
        self._inflight: dict[str, _Flight[V]] = {}
        # Every lookup task still running, forgotten ones included, for `drain`.
        self._tasks: set[asyncio.Future[V]] = set()

    async def get(self, key: str) -> V:
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is not None:
            value, loaded_at = entry
            age = now - loaded_at
            if age < self._ttl:
                if age >= self._ttl / 2 and key not in self._inflight:
                    self._start(key)
                return value
        flight = self._inflight.get(key) or self._start(key)
        value = await asyncio.shield(flight.future)
        if flight.stale:
            # Forgotten while we waited: the answer may predate a revocation. The fresh lookup
            # started after the forget, so its answer is current; it is not retried again.
            fresh = self._inflight.get(key) or self._start(key)
            return await asyncio.shield(fresh.future)
        return value

    async def drain(self, grace_seconds: float = 5.0) -> None:
        """Let lookups under way finish (at shutdown, before their database goes away)."""
        pending = list(self._tasks)
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_seconds)
            for task in late:
                task.cancel()

    def forget(self, key: str) -> None:
        """Drop `key` now; a lookup already under way for it is neither cached nor believed."""
        self._entries.pop(key, None)
        flight = self._inflight.pop(key, None)
        if flight is not None:
            flight.stale = True

    def _start(self, key: str) -> _Flight[V]:
        flight: _Flight[V] = _Flight(asyncio.ensure_future(self._load(key)), time.monotonic())
        self._inflight[key] = flight
        self._tasks.add(flight.future)

        def done(finished: asyncio.Future[V]) -> None:
            self._tasks.discard(finished)
            if self._inflight.get(key) is flight:
                del self._inflight[key]
            if flight.stale or finished.cancelled() or finished.exception() is not None:
                return
            # Stamped with when the lookup began: a revocation racing it is not outlived.
            self._entries[key] = (finished.result(), flight.started)

        flight.future.add_done_callback(done)
        return flight
