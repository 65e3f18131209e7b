"""The prompt cache's stores: memory (TTL per entry, bounded by bytes, least recently used out
first) and Redis against the real server (TTL, and failing open when Redis is away)."""

from __future__ import annotations

import asyncio

import redis.asyncio

from tests.e2e.server import free_port
from tests.redis_server import REDIS_URL, redis_prefix
from twelve.modules.gateway.cache_store import ENTRY_OVERHEAD_BYTES, MemoryCacheStore
from twelve.modules.gateway.redis_cache_store import RedisCacheStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_entry_expires_after_its_own_ttl() -> None:
    clock = Clock()
    store = MemoryCacheStore(1024 * 1024, clock=clock)
    await store.put("short", b"a", 10)
    await store.put("long", b"b", 100)
    clock.now += 9.9
    assert await store.get("short") == b"a"
    clock.now += 0.2
    assert await store.get("short") is None
    assert await store.get("long") == b"b"
    clock.now += 100
    assert await store.get("long") is None


async def test_the_store_is_bounded_by_bytes_least_recently_used_out_first() -> None:
    entry = 1000
    store = MemoryCacheStore(3 * (entry + ENTRY_OVERHEAD_BYTES))
    for name in ("a", "b", "c"):
        await store.put(name, name.encode() * entry, 60)
    assert await store.get("a") is not None  # now "b" is the least recently used
    await store.put("d", b"d" * entry, 60)
    assert await store.get("b") is None
    assert [await store.get(n) is not None for n in ("a", "c", "d")] == [True, True, True]
    assert store.bytes_held <= store.max_bytes


async def test_an_entry_larger_than_the_store_is_not_kept() -> None:
    store = MemoryCacheStore(2048)
    await store.put("small", b"s", 60)
    await store.put("huge", b"h" * 4096, 60)
    assert await store.get("huge") is None
    assert await store.get("small") == b"s"  # and nothing was evicted for it


async def test_redis_keeps_entries_with_their_ttl() -> None:
    async with redis_prefix() as prefix:
        store = RedisCacheStore(REDIS_URL, prefix=prefix)
        try:
            await store.put("k", b"value", 0.3)
            assert await store.get("k") == b"value"
            assert await store.get("other") is None
            client = redis.asyncio.Redis.from_url(REDIS_URL)
            try:
                ttl = await client.pttl(f"{prefix}:k")
            finally:
                await client.aclose()
            assert 0 < ttl <= 300
            await asyncio.sleep(0.4)
            assert await store.get("k") is None
        finally:
            await store.close()


async def test_redis_away_is_a_miss_never_an_error() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    store = RedisCacheStore(dead, timeout_seconds=0.2, cooldown_seconds=60)
    try:
        await store.put("k", b"v", 60)  # skipped
        assert await store.get("k") is None
        # Resting after the first failure: no further connection attempts for the cooldown.
        started = asyncio.get_running_loop().time()
        for _ in range(100):
            assert await store.get("k") is None
        assert asyncio.get_running_loop().time() - started < 0.5
    finally:
        await store.close()
