"""The stream idle deadline: per wait, not per stream; other cancellations pass through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from twelve.modules.models.adapters.idle_watch import IdleWatch


async def items(gap: float, count: int) -> AsyncIterator[int]:
    for n in range(count):
        await asyncio.sleep(gap)
        yield n


async def test_a_stalled_wait_times_out() -> None:
    watch = IdleWatch(0.05)
    try:
        with pytest.raises(TimeoutError):
            await watch.wait(items(3600, 1))
    finally:
        watch.close()


async def test_the_deadline_is_per_wait_even_when_the_stream_outlasts_it() -> None:
    watch = IdleWatch(1.0)
    stream = items(0.25, 6)  # 1.5 s in all, never 1 s between two items
    try:
        got = [await watch.wait(stream) for _ in range(6)]
    finally:
        watch.close()
    assert got == list(range(6))


async def test_waits_from_another_task_are_watched_too() -> None:
    watch = IdleWatch(0.05)
    stream = items(0, 1)
    assert await watch.wait(stream) == 0
    stalled = items(3600, 1)
    with pytest.raises(TimeoutError):
        await asyncio.create_task(watch.wait(stalled))
    watch.close()


async def test_someone_elses_cancellation_stays_a_cancellation() -> None:
    watch = IdleWatch(3600)
    waiting = asyncio.create_task(watch.wait(items(3600, 1)))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    watch.close()
