"""The key-lookup cache: bounded, single-flight, refreshed ahead of expiry.

An entry answers for `ttl` seconds, so a revocation made in another process takes effect within
`ttl`. Past half its life an entry is refreshed in the background while it keeps answering, so
steady traffic never waits on the database; a missing or expired entry is looked up once however
many requests want it at the same moment.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class RefreshingCache(Generic[V]):
    def __init__(
        self, load: Callable[[str], Awaitable[V]], *, ttl: float, maxsize: int = 100_000
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._entries: LRUCache[str, tuple[V, float]] = LRUCache(maxsize=maxsize)
        self._inflight: dict[str, asyncio.Future[V]] = {}
        self._forgotten_in_flight: set[str] = set()

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
        future = self._inflight.get(key) or self._start(key)
        return await asyncio.shield(future)

    async def drain(self, grace_seconds: float = 5.0) -> None:
        """Let lookups under way finish (at shutdown, before their database goes away)."""
        pending = list(self._inflight.values())
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_seconds)
            for task in late:
                task.cancel()

    def forget(self, key: str) -> None:
        """Drop `key` now; a lookup already under way for it will not be cached."""
        self._entries.pop(key, None)
        if key in self._inflight:
            self._forgotten_in_flight.add(key)

    def _start(self, key: str) -> asyncio.Future[V]:
        started = time.monotonic()
        task = asyncio.ensure_future(self._load(key))
        self._inflight[key] = task

        def done(finished: asyncio.Future[V]) -> None:
            self._inflight.pop(key, None)
            if key in self._forgotten_in_flight:
                self._forgotten_in_flight.discard(key)
                return
            if not finished.cancelled() and finished.exception() is None:
                # Stamped with when the lookup began: a revocation racing it is not outlived.
                self._entries[key] = (finished.result(), started)

        task.add_done_callback(done)
        return task
