"""The real Redis for rate-limit tests: the server at `TWELVE_TEST_REDIS_URL` (default
redis://127.0.0.1:6379/0). Each test writes under a key prefix of its own and deletes only those
keys. Without the server the tests say so in one line and skip; on CI (`CI=true`) they fail."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

import pytest
import redis
import redis.asyncio

REDIS_URL = os.environ.get("TWELVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@cache
def redis_missing() -> str | None:
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2) as r:
            r.ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {REDIS_URL} ({type(exc).__name__}: {exc})"
    return None


def need_redis() -> None:
    missing = redis_missing()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)


@asynccontextmanager
async def redis_prefix() -> AsyncIterator[str]:
    """A fresh key prefix; every key under it is deleted afterwards."""
    need_redis()
    prefix = f"twelve-test-{secrets.token_hex(6)}"
    try:
        yield prefix
    finally:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=500)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()
