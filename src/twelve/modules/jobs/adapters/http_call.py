"""A workflow's `http` step: one request to a URL the step names, under the kernel's URL guard.

The URL is checked when the step runs (scheme, no credentials, no forbidden literal address) and
every address its name resolves to is checked by the connection's own resolver, so loopback,
private, link-local and metadata addresses are refused unless allow-listed
(`TWELVE_JOBS_ALLOW_NETWORKS`). Redirects are not followed; the answer is read up to a bound; the
step's timeout bounds the wait. A 2xx answer is the step's output (JSON when it is JSON); anything
else fails the step, with its status, so the step's retries and policy apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson

from twelve.kernel.errors import TwelveError, UpstreamError
from twelve.kernel.url_guard import ForbiddenAddress, GuardedResolver, Network, check_url

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class HttpCall:
    def __init__(self, networks: Sequence[Network], max_bytes: int) -> None:
        self._networks = tuple(networks)
        self._max_bytes = max_bytes
        self._session: aiohttp.ClientSession | None = None

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        url = check_url(str(body.get("url") or ""), self._networks, "url")
        method = str(body.get("method") or "POST").upper()
        if method not in METHODS:
            raise TwelveError(f"method must be one of {', '.join(METHODS)}.", status=400,
                              param="method")  # fmt: skip
        headers = {str(k): str(v) for k, v in dict(body.get("headers") or {}).items()}
        payload = body.get("json")
        try:
            async with self._session_now().request(
                method, url, json=payload, headers=headers, allow_redirects=False
            ) as answer:
                data = await answer.content.read(self._max_bytes + 1)
                status, kind = answer.status, answer.content_type
        except ForbiddenAddress:
            raise UpstreamError("The step's URL resolves to an address it may not reach.",
                                status=400) from None  # fmt: skip
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"The step's URL could not be reached ({type(exc).__name__}).",
                                status=502) from None  # fmt: skip
        if len(data) > self._max_bytes:
            raise UpstreamError(f"The answer is over {self._max_bytes} bytes.", status=502)
        if not 200 <= status < 300:
            raise UpstreamError(f"The step's URL answered HTTP {status}.", status=status)
        if kind == "application/json":
            try:
                return {"status": status, "json": orjson.loads(data)}
            except orjson.JSONDecodeError:
                pass
        return {"status": status, "text": data.decode("utf-8", "replace")}

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._networks))
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
