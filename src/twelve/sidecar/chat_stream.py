"""Text pieces from a generation on a worker thread, read on the event loop as they come.

The worker calls `emit` (thread-safe: it schedules the put on the loop, never blocks the loop)
and the loop reads with `next()`. When the generation's task ends — done, failed, or refused
before it started (`Overloaded`) — the stream ends; `result()` then gives the task's outcome or
raises its error. `stop()` asks the worker to stop at its next token: the routes call it when
the client hangs up, so an abandoned generation frees the model within one token.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _End:
    """The marker after the last piece."""


_END = _End()


class PieceStream(Generic[T]):
    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str | _End] = asyncio.Queue()
        self.stopped = threading.Event()
        self._task: asyncio.Task[T] | None = None

    def emit(self, piece: str) -> None:
        """Called on the worker thread."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, piece)

    def start(self, work: Awaitable[T]) -> None:
        # The task's end is queued after every piece the worker emitted: those were scheduled on
        # the loop before the executor's future completed.
        self._task = asyncio.ensure_future(work)
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[T]) -> None:
        if not task.cancelled():
            task.exception()  # retrieved here; `result()` raises it to whoever reads the stream
        self._queue.put_nowait(_END)

    async def next(self) -> str | None:
        """The next piece, or None once the generation has ended."""
        piece = await self._queue.get()
        return None if isinstance(piece, _End) else piece

    def result(self) -> T:
        """The generation's outcome; call after `next()` returned None."""
        assert self._task is not None and self._task.done()
        return self._task.result()

    def stop(self) -> None:
        self.stopped.set()

    async def stop_on_hangup(self, receive: Callable[[], Awaitable[Mapping[str, Any]]]) -> None:
        """Wait (until cancelled) for the client to hang up, and stop the generation when it does.
        `receive` is the request's ASGI receive, after its body was read: all it can still say
        is that the client went away."""
        while (await receive())["type"] != "http.disconnect":
            continue  # a server sends nothing else once the body was read
        self.stop()
