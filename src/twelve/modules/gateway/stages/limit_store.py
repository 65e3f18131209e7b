"""Where rate limits are counted: what a store is asked, what it answers, and the in-memory store.

Requests and tokens per minute are sliding window counters (the `limits` library's strategy): a
counter for the current minute and one for the minute before, weighted by how much of that minute
is still inside the window. It costs two counters per limit whatever the limit is (a moving
window keeps one entry per request, or per token for TPM), and within one minute it is exact: a
limit of 60 admits at most 60 however fast the requests come. Concurrency is a count of slots in
use. A store applies a request's limits all or nothing: one that refuses takes nothing from the
others.

`MemoryLimitStore` serves one process (`limits`' memory storage, under one lock so that checking
every limit and then taking from each is one step). `RedisLimitStore` (`redis_limit_store.py`)
shares one exact limit between processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from math import floor
from typing import Literal, Protocol

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

Unit = Literal["requests", "tokens"]
Scope = Literal["key", "customer"]
WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Window:
    """One per-minute limit a request takes `cost` from."""

    scope: Scope
    owner: str  # the key's or the customer's id
    unit: Unit
    limit: int
    cost: int

    @property
    def item(self) -> RateLimitItemPerMinute:
        return RateLimitItemPerMinute(self.limit)

    @property
    def key(self) -> str:
        """The `limits` key: per scope, owner and unit (the limit is part of it, so changing a
        limit starts a fresh count)."""
        return self.item.key_for(self.scope, self.owner, self.unit)


@dataclass(frozen=True, slots=True)
class Slots:
    """A concurrency limit: at most `limit` requests of `owner` in flight."""

    scope: Scope
    owner: str
    limit: int

    @property
    def key(self) -> str:
        return f"concurrency/{self.scope}/{self.owner}"


@dataclass(frozen=True, slots=True)
class WindowState:
    """A window's counters as a store saw them before taking this request's cost: the previous
    minute's count and the seconds until it leaves the window, and the same for the current one
    (the `limits` library's sliding window, in seconds)."""

    previous: int
    previous_ttl: float
    current: int
    current_ttl: float

    def used(self) -> int:
        weighted = self.previous * self.previous_ttl / WINDOW_SECONDS if self.previous else 0
        return floor(weighted) + self.current


@dataclass(frozen=True, slots=True)
class Verdict:
    """A store's answer: the windows' states and slots in use (in the order asked), and the
    first limit that refused (an index into windows, then slots), or None when admitted."""

    windows: tuple[WindowState, ...]
    slots_in_use: tuple[int, ...]
    refused: int | None


class LimitStore(Protocol):
    async def acquire(
        self, windows: Sequence[Window], slots: Sequence[Slots], member: str
    ) -> Verdict:
        """Take each window's cost and one slot of each, all or nothing. `member` names the
        request's slots until `release`."""
        ...

    async def release(
        self, corrections: Sequence[tuple[Window, int]], slots: Sequence[Slots], member: str
    ) -> None:
        """Add each correction (negative: give back) to its window; give the slots back."""
        ...

    async def close(self) -> None: ...


class MemoryLimitStore:
    """Limits of one process: `limits`' memory storage and its sliding window counter."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._in_use: dict[str, int] = {}
        # Made on first use: the memory storage starts its expiry task on the running loop.
        self._storage: MemoryStorage | None = None
        self._limiter: SlidingWindowCounterRateLimiter | None = None

    def _open(self) -> tuple[MemoryStorage, SlidingWindowCounterRateLimiter]:
        if self._storage is None or self._limiter is None:
            self._storage = MemoryStorage()
            self._limiter = SlidingWindowCounterRateLimiter(self._storage)
        return self._storage, self._limiter

    async def acquire(
        self, windows: Sequence[Window], slots: Sequence[Slots], member: str
    ) -> Verdict:
        storage, limiter = self._open()
        async with self._lock:
            states = []
            refused: int | None = None
            for index, window in enumerate(windows):
                state = WindowState(*await storage.get_sliding_window(window.key, WINDOW_SECONDS))
                states.append(state)
                if refused is None and state.used() + window.cost > window.limit:
                    refused = index
            in_use = tuple(self._in_use.get(s.key, 0) for s in slots)
            for index, (slot, used) in enumerate(zip(slots, in_use, strict=True)):
                if refused is None and used >= slot.limit:
                    refused = len(windows) + index
            if refused is None:
                for taken, window in enumerate(windows):
                    # Under the lock the check above holds; should the library ever disagree,
                    # give back what was taken and refuse.
                    ids = (window.scope, window.owner, window.unit)
                    if not await limiter.hit(window.item, *ids, cost=window.cost):
                        await self._correct(storage, [(w, -w.cost) for w in windows[:taken]])
                        refused = taken
                        break
            if refused is None:
                for slot in slots:
                    self._in_use[slot.key] = self._in_use.get(slot.key, 0) + 1
        return Verdict(tuple(states), in_use, refused)

    async def release(
        self, corrections: Sequence[tuple[Window, int]], slots: Sequence[Slots], member: str
    ) -> None:
        storage, _ = self._open()
        async with self._lock:
            await self._correct(storage, corrections)
            for slot in slots:
                left = self._in_use.get(slot.key, 0) - 1
                if left > 0:
                    self._in_use[slot.key] = left
                else:
                    self._in_use.pop(slot.key, None)

    @staticmethod
    async def _correct(storage: MemoryStorage, corrections: Sequence[tuple[Window, int]]) -> None:
        now = time.time()
        for window, delta in corrections:
            previous, current = storage.sliding_window_keys(window.key, WINDOW_SECONDS, now)
            if delta > 0:
                await storage.incr(current, 2 * WINDOW_SECONDS, amount=delta)
                continue
            # Given back from the current minute first, then from the previous one (where the
            # reservation is once the minute turned), never below zero.
            for key in (current, previous):
                if delta >= 0:
                    break
                have = await storage.get(key)
                taken = min(have, -delta)
                if taken:
                    await storage.decr(key, taken)
                    delta += taken

    async def close(self) -> None:
        self._storage = self._limiter = None
