"""The idle deadline of a stream: at most `seconds` of waiting for each next event.

`asyncio.timeout` per event made, armed and cancelled a timer for every event; on a stream of
small events that was a tenth of the relay's CPU. Here one timer serves the whole stream and is
moved only when it fires: it then either finds that the wait it was set for is over (and re-arms
for the current one, if any) or cancels the waiting task, which `wait` turns into `TimeoutError`.
The consumer may change tasks between events (the first is read by the request, the rest by the
response's relay): each wait records its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


class IdleWatch:
    __slots__ = ("_expired", "_loop", "_seconds", "_since", "_task", "_timer")

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._seconds = seconds
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[object] | None = None  # the task waiting now, if any
        self._since = 0.0  # when that wait began
        self._expired = False

    async def wait(self, items: AsyncIterator[T]) -> T:
        """`items`' next item, or `TimeoutError` after `seconds` without one."""
        self._task = asyncio.current_task()
        self._since = self._loop.time()
        if self._timer is None:
            self._timer = self._loop.call_at(self._since + self._seconds, self._fire)
        try:
            return await anext(items)
        except asyncio.CancelledError:
            task = self._task
            if self._expired and task is not None and task.uncancel() == 0:
                raise TimeoutError from None  # our cancellation, not someone else's
            raise
        finally:
            self._task = None
            self._expired = False

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        if self._task is None:
            return  # nobody waits: the next wait arms a new timer
        deadline = self._since + self._seconds
        if self._loop.time() < deadline:
            self._timer = self._loop.call_at(deadline, self._fire)  # a later wait than ours
            return
        self._expired = True
        self._task.cancel()
