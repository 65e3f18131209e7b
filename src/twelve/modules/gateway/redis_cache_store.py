"""The prompt cache in Redis (`TWELVE_REDIS_URL`), shared by every gateway process.

Each entry is one Redis string under `twelve:cache:<key>` with its TTL (`SET ... PX`); entries
are bounded in size by the model's `max_entry_bytes` before they get here, and the total by the
Redis server's own `maxmemory` policy. The store fails open: when Redis cannot be reached or
answers slowly (`timeout_seconds`), a lookup is a miss and a write is skipped, never an error to
the client. The first failure is logged once; Redis is then left alone for `cooldown_seconds`
(so a dead server costs nothing per request), and its return is logged too.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from twelve.kernel.telemetry.logging import get_logger

log = get_logger("twelve.gateway.redis_cache_store")


class RedisCacheStore:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "twelve:cache",
        timeout_seconds: float = 0.5,
        cooldown_seconds: float = 5.0,
    ) -> None:
        self._redis: Redis = Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry_on_timeout=False,
        )
        self._prefix = prefix + ":"
        self._cooldown_seconds = cooldown_seconds
        self._down_until = 0.0
        self._failing = False

    async def get(self, key: str) -> bytes | None:
        if self._resting():
            return None
        try:
            value = await self._redis.get(self._prefix + key)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None
        self._recovered()
        return value if isinstance(value, bytes) else None

    async def put(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if self._resting():
            return
        try:
            await self._redis.set(self._prefix + key, value, px=max(1, int(ttl_seconds * 1000)))
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return
        self._recovered()

    async def close(self) -> None:
        await self._redis.aclose()

    def _resting(self) -> bool:
        return self._failing and time.monotonic() < self._down_until

    def _failed(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + self._cooldown_seconds
        if not self._failing:
            self._failing = True
            log.warning("cache_store_unavailable", cause=f"{type(exc).__name__}: {exc}"[:300])

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            log.info("cache_store_recovered")
