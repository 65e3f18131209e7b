"""Both rate-limit stores, the same cases: in memory, and on the real Redis at 127.0.0.1:6379.

A limit is never exceeded, a request refused by one limit takes nothing from the others, token
corrections and slots come back, and (Redis) the slots of a request that never gave them back
are pruned when their lease ends, while the windows stay readable by `limits` itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from tests.redis_server import REDIS_URL, redis_prefix
from twelve.modules.gateway.stages.limit_store import LimitStore, MemoryLimitStore, Slots, Window
from twelve.modules.gateway.stages.redis_limit_store import RedisLimitStore


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[LimitStore]:
    if request.param == "memory":
        memory = MemoryLimitStore()
        yield memory
        await memory.close()
        return
    async with redis_prefix() as prefix:
        shared = RedisLimitStore(REDIS_URL, prefix=prefix, slot_seconds=60)
        yield shared
        await shared.close()


def rpm(limit: int, scope: str = "key", owner: str = "k1") -> Window:
    return Window(scope, owner, "requests", limit, 1)  # type: ignore[arg-type]


async def test_a_window_admits_exactly_its_limit(store: LimitStore) -> None:
    window = rpm(5)
    verdicts = [await store.acquire([window], [], f"r{i}") for i in range(8)]
    assert [v.refused for v in verdicts] == [None] * 5 + [0] * 3
    assert verdicts[4].windows[0].used() == 4  # the state before the fifth request
    assert verdicts[7].windows[0].used() == 5


async def test_concurrent_requests_never_exceed_the_limit(store: LimitStore) -> None:
    window = rpm(20)
    verdicts = await asyncio.gather(*(store.acquire([window], [], f"r{i}") for i in range(60)))
    assert sum(v.refused is None for v in verdicts) == 20


async def test_a_refusal_takes_nothing_from_the_other_limits(store: LimitStore) -> None:
    key, customer = rpm(10), rpm(2, "customer", "c1")
    slots = Slots("key", "k1", 10)
    results = [await store.acquire([key, customer], [slots], f"r{i}") for i in range(4)]
    assert [r.refused for r in results] == [None, None, 1, 1]
    # The key's window and slots hold only the two admitted requests.
    assert results[3].windows[0].used() == 2
    assert results[3].slots_in_use == (2,)


async def test_tokens_are_corrected_both_ways(store: LimitStore) -> None:
    tokens = Window("key", "k1", "tokens", 150, 100)
    assert (await store.acquire([tokens], [], "a")).refused is None
    assert (await store.acquire([tokens], [], "b")).refused == 0  # 100 + 100 > 150
    await store.release([(tokens, -80)], [], "a")  # it used 20
    assert (await store.acquire([tokens], [], "c")).refused is None  # 20 + 100
    await store.release([(tokens, 500)], [], "c")  # it used 600: counted in full
    verdict = await store.acquire([tokens], [], "d")
    assert verdict.refused == 0 and verdict.windows[0].used() == 620


async def test_giving_back_never_goes_below_zero(store: LimitStore) -> None:
    tokens = Window("key", "k1", "tokens", 100, 10)
    await store.acquire([tokens], [], "a")
    await store.release([(tokens, -1000)], [], "a")
    verdict = await store.acquire([tokens], [], "b")
    assert verdict.windows[0].used() == 0


async def test_slots_are_taken_and_given_back(store: LimitStore) -> None:
    slots = Slots("customer", "c1", 2)
    assert (await store.acquire([], [slots], "a")).refused is None
    assert (await store.acquire([], [slots], "b")).refused is None
    refused = await store.acquire([], [slots], "c")
    assert refused.refused == 0 and refused.slots_in_use == (2,)
    await store.release([], [slots], "a")
    assert (await store.acquire([], [slots], "c")).refused is None


async def test_a_dead_process_slots_are_pruned_when_their_lease_ends() -> None:
    async with redis_prefix() as prefix:
        dying = RedisLimitStore(REDIS_URL, prefix=prefix, slot_seconds=0.3)
        slots = Slots("key", "k1", 1)
        assert (await dying.acquire([], [slots], "never-released")).refused is None
        await dying.close()  # as if its process died: the slot is never given back
        other = RedisLimitStore(REDIS_URL, prefix=prefix, slot_seconds=60)
        try:
            assert (await other.acquire([], [slots], "b")).refused == 0
            await asyncio.sleep(0.4)
            assert (await other.acquire([], [slots], "c")).refused is None
        finally:
            await other.close()


async def test_two_redis_stores_share_one_limit() -> None:
    async with redis_prefix() as prefix:
        stores = [RedisLimitStore(REDIS_URL, prefix=prefix, slot_seconds=60) for _ in range(2)]
        try:
            window = rpm(60)
            verdicts = await asyncio.gather(
                *(stores[i % 2].acquire([window], [], f"r{i}") for i in range(120))
            )
            assert sum(v.refused is None for v in verdicts) == 60
        finally:
            for one in stores:
                await one.close()


async def test_limits_reads_the_windows_redis_keeps() -> None:
    async with redis_prefix() as prefix:
        store = RedisLimitStore(REDIS_URL, prefix=prefix, slot_seconds=60)
        try:
            window = rpm(10)
            for i in range(3):
                await store.acquire([window], [], f"r{i}")
            limiter = SlidingWindowCounterRateLimiter(store.storage)
            stats = await limiter.get_window_stats(window.item, "key", "k1", "requests")
            assert stats.remaining == 7
            # And limits' own hit counts in the same window as ours.
            assert await limiter.hit(window.item, "key", "k1", "requests")
            assert (await store.acquire([window], [], "r4")).windows[0].used() == 4
        finally:
            await store.close()
