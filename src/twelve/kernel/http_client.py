"""The one pooled async HTTP client every upstream call in this process goes through.

aiohttp rather than httpx: under concurrency its connection pool costs less per request, and the
gateway benchmark (bench/) is where that choice is checked. Calls to model providers turn off
auto-decompression and redirects per request (`models/adapters/transport.py`): an upstream's body
is inflated within a limit there, and a redirect is an error, never followed.
"""

from __future__ import annotations

import aiohttp


class HttpClient:
    """Owns one `aiohttp.ClientSession`; open it at start-up and close it at shutdown."""

    def __init__(self, *, pool_size: int = 512, keepalive_seconds: float = 30.0) -> None:
        self._pool_size = pool_size
        self._keepalive = keepalive_seconds
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size,
                limit_per_host=0,
                keepalive_timeout=self._keepalive,
                ttl_dns_cache=300,
            )
            # The session is created lazily so it binds to the running event loop.
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=True,
                raise_for_status=False,
                trust_env=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
