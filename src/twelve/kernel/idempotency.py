"""The answers to commands, remembered by idempotency key, so a retried command runs once.

A caller that lost the answer to a command (the connection dropped after the request was sent)
sends it again with the same key and gets the first answer back instead of a second effect. A
duplicate that arrives while the first is still running waits for it. Answers are kept for a
bounded time and in bounded number (the oldest go first); a call that ended without an answer
(it crashed or was cancelled) is forgotten, so that its retry runs.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Answer:
    """What a call answered, as sent: a status and a JSON body."""

    status: int
    body: bytes


class _Abandoned(Exception):
    """The first call ended without an answer: whoever waited on it runs the call itself."""


class IdempotencyMemory:
    def __init__(
        self,
        *,
        capacity: int = 10_000,
        ttl_seconds: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capacity = capacity
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, asyncio.Future[Answer]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def answer(self, key: str, run: Callable[[], Awaitable[Answer]]) -> Answer:
        """The first answer given for `key`, running `run` only if there is none (yet)."""
        while True:
            self._expire()
            entry = self._entries.get(key)
            if entry is None:
                return await self._first(key, run)
            try:
                # Shielded: a waiter that gives up must not cancel the first call.
                return await asyncio.shield(entry[1])
            except _Abandoned:
                continue

    async def _first(self, key: str, run: Callable[[], Awaitable[Answer]]) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._entries[key] = (self._clock(), future)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        try:
            answer = await run()
        except BaseException:
            if self._entries.get(key, (0.0, None))[1] is future:
                del self._entries[key]
            future.set_exception(_Abandoned())
            future.exception()  # retrieved: nobody waiting is not an error
            raise
        future.set_result(answer)
        return answer

    def _expire(self) -> None:
        oldest = self._clock() - self._ttl
        while self._entries:
            stored_at, future = next(iter(self._entries.values()))
            if stored_at > oldest or not future.done():
                return
            self._entries.popitem(last=False)
