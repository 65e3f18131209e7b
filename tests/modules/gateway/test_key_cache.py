from __future__ import annotations

import asyncio

import pytest

from twelve.modules.gateway.key_cache import RefreshingCache


class Loader:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self.value = "v1"

    async def __call__(self, key: str) -> str:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return f"{key}:{self.value}"


class ReadsFirst(Loader):
    """Reads the value, then takes its time answering: a row read just before a revocation."""

    async def __call__(self, key: str) -> str:
        self.calls += 1
        value = self.value
        await asyncio.sleep(self.delay)
        return f"{key}:{value}"


async def test_concurrent_misses_load_once() -> None:
    loader = Loader(delay=0.02)
    cache = RefreshingCache(loader, ttl=10)
    results = await asyncio.gather(*(cache.get("k") for _ in range(100)))
    assert set(results) == {"k:v1"} and loader.calls == 1


async def test_a_hit_past_half_life_answers_at_once_and_refreshes_behind() -> None:
    loader = Loader()
    cache = RefreshingCache(loader, ttl=0.2)
    assert await cache.get("k") == "k:v1"
    loader.value = "v2"
    await asyncio.sleep(0.12)
    assert await cache.get("k") == "k:v1"  # still fresh enough to answer
    await asyncio.sleep(0.01)
    assert loader.calls == 2
    assert await cache.get("k") == "k:v2"


async def test_an_expired_entry_is_looked_up_again() -> None:
    loader = Loader()
    cache = RefreshingCache(loader, ttl=0.05)
    await cache.get("k")
    loader.value = "v2"
    await asyncio.sleep(0.06)
    assert await cache.get("k") == "k:v2"


async def test_a_failed_lookup_is_not_cached() -> None:
    calls = 0

    async def flaky(key: str) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database down")
        return key

    cache = RefreshingCache(flaky, ttl=10)
    with pytest.raises(ConnectionError):
        await cache.get("k")
    assert await cache.get("k") == "k" and calls == 2


async def test_drain_waits_for_lookups_under_way() -> None:
    loader = Loader(delay=0.05)
    cache = RefreshingCache(loader, ttl=10)
    pending = asyncio.ensure_future(cache.get("k"))
    await asyncio.sleep(0)
    await cache.drain()
    loader.value = "v2"
    assert await cache.get("k") == "k:v1"  # the drained lookup finished and was kept
    assert loader.calls == 1
    assert await pending == "k:v1"


async def test_forget_wins_over_a_lookup_in_flight_and_its_waiters() -> None:
    """A revocation while a lookup is in flight: the waiters must not see the stale principal."""
    loader = ReadsFirst(delay=0.05)
    cache = RefreshingCache(loader, ttl=10)
    waiting = [asyncio.ensure_future(cache.get("k")) for _ in range(5)]
    await asyncio.sleep(0.01)  # all five now wait on the one lookup, which read "v1"
    loader.value = "revoked"  # what the database says from now on
    cache.forget("k")
    assert set(await asyncio.gather(*waiting)) == {"k:revoked"}
    assert loader.calls == 2  # one fresh lookup for all the waiters, not one each
    assert await cache.get("k") == "k:revoked"


async def test_drain_waits_for_a_forgotten_lookup_too() -> None:
    loader = Loader(delay=0.05)
    cache = RefreshingCache(loader, ttl=10)
    pending = asyncio.ensure_future(cache.get("k"))
    await asyncio.sleep(0.01)
    cache.forget("k")
    forgotten = set(cache._tasks)
    await cache.drain()
    assert forgotten and all(task.done() for task in forgotten)
    await pending
    await cache.drain()
