"""Where the prompt cache keeps answers: a port, and its in-memory store (the default).

Entries are bytes (the answer's JSON), so a stored answer can never be changed by whoever reads
it: every hit decodes a fresh object. The memory store is bounded by the total bytes it holds
(least recently used entries go first) and each entry expires after its own TTL
(`cachetools`' `TLRUCache`). A store never raises to the request: the Redis one fails open
(`redis_cache_store.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

from cachetools import TLRUCache

# What an entry costs beyond its bytes (key, tuple, cache bookkeeping): counted so that many tiny
# entries cannot hold far more memory than the bound says.
ENTRY_OVERHEAD_BYTES = 256


class CacheStore(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes, ttl_seconds: float) -> None: ...

    async def close(self) -> None: ...


class _Entry(NamedTuple):
    value: bytes
    ttl_seconds: float


def _expires(_key: str, entry: _Entry, now: float) -> float:
    return now + entry.ttl_seconds


def _size(entry: _Entry) -> int:
    return len(entry.value) + ENTRY_OVERHEAD_BYTES


class MemoryCacheStore:
    """This process's memory, at most `max_bytes` of entries."""

    def __init__(self, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self._entries: TLRUCache[str, _Entry] = TLRUCache(
            maxsize=max_bytes, ttu=_expires, timer=clock, getsizeof=_size
        )

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        return entry.value if entry is not None else None

    async def put(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if len(value) + ENTRY_OVERHEAD_BYTES > self.max_bytes:
            return  # larger than the whole cache: never kept
        self._entries[key] = _Entry(value, ttl_seconds)

    @property
    def bytes_held(self) -> int:
        return int(self._entries.currsize)

    def __len__(self) -> int:
        return len(self._entries)

    async def close(self) -> None:
        self._entries.clear()
