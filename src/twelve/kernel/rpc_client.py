"""The calling side of the internal routes: one remote module's port over the pooled HTTP client.

Every call has a deadline (`TWELVE_INTERNAL_CALL_TIMEOUT` for a whole call,
`TWELVE_INTERNAL_STREAM_IDLE_TIMEOUT` between the lines of a stream) and redirects are never
followed: an internal route does not redirect, so a redirect means something else answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from pydantic import Field
from pydantic_core import to_jsonable_python
from pydantic_settings import BaseSettings, SettingsConfigDict

from twelve.kernel.errors import TwelveError, UpstreamError, UpstreamTimeout
from twelve.kernel.http_client import HttpClient
from twelve.kernel.rpc_wire import (
    INTERNAL_KEY_HEADER,
    JSON,
    ModuleUnavailable,
    from_wire,
    is_module_answer,
)
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.tracing import inject

log = get_logger("twelve.rpc")


class RpcDeadlines(BaseSettings):
    """How long a call to another process may take (seconds)."""

    model_config = SettingsConfigDict(env_prefix="TWELVE_INTERNAL_", extra="ignore")

    # A call covers the serving module's whole upstream work (retries included), hence generous.
    call_timeout: float = Field(default=600.0, gt=0)
    stream_idle_timeout: float = Field(default=300.0, gt=0)
    connect_timeout: float = Field(default=5.0, gt=0)


class RpcClient:
    """Calls one remote module's internal routes through the process's pooled HTTP client."""

    def __init__(
        self,
        module: str,
        base_url: str,
        internal_key: str,
        http: HttpClient,
        deadlines: RpcDeadlines | None = None,
    ) -> None:
        self.module = module
        self._base = f"{base_url.rstrip('/')}/internal/{module}"
        self._key = internal_key
        self._http = http
        self.deadlines = deadlines or RpcDeadlines()
        limits = self.deadlines
        self._call_timeout = aiohttp.ClientTimeout(
            total=limits.call_timeout, sock_connect=limits.connect_timeout
        )
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=limits.connect_timeout, sock_read=limits.stream_idle_timeout
        )
        # The cause of a refusal is logged once, not on every request, until a call succeeds.
        self._refusal_logged = False

    async def call(self, method: str, args: JSON) -> Any:
        response = await self._post(method, args, self._call_timeout)
        try:
            payload = await response.read()
        except TimeoutError:
            raise self._timed_out(self.deadlines.call_timeout) from None
        except aiohttp.ClientError as exc:
            raise self._unreachable(exc) from None
        finally:
            response.release()
        if response.status != 200:
            raise self._error(payload, response.status)
        self._refusal_logged = False
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise ModuleUnavailable(f"The {self.module} module answered with bad JSON.") from None

    async def stream(self, method: str, args: JSON) -> AsyncIterator[JSON]:
        response = await self._post(method, args, self._stream_timeout)
        try:
            if response.status != 200:
                raise self._error(await response.read(), response.status)
            self._refusal_logged = False
            async for line in response.content:
                if line.strip():
                    item = self._item(line)
                    if "error" in item:
                        raise from_wire(item, 502)
                    yield item
        except TimeoutError:
            raise UpstreamError(
                f"The {self.module} module's stream sent nothing for "
                f"{self.deadlines.stream_idle_timeout:g} s.",
                status=504,
                type_="timeout_error",
                code="module_timeout",
                kind="timeout",
            ) from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                f"The {self.module} module's stream broke ({type(exc).__name__}).",
                kind="connection",
            ) from None
        finally:
            response.release()

    async def _post(
        self, method: str, args: JSON, deadline: aiohttp.ClientTimeout
    ) -> aiohttp.ClientResponse:
        headers = {INTERNAL_KEY_HEADER: self._key, "content-type": "application/json"}
        inject(headers)
        try:
            return await self._http.session.post(
                f"{self._base}/{method}",
                data=orjson.dumps(to_jsonable_python(args)),
                headers=headers,
                timeout=deadline,
                allow_redirects=False,
            )
        except aiohttp.ConnectionTimeoutError as exc:
            raise self._unreachable(exc) from None
        except TimeoutError:
            raise self._timed_out(self.deadlines.call_timeout) from None
        except aiohttp.ClientError as exc:
            raise self._unreachable(exc) from None

    def _item(self, line: bytes) -> JSON:
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            item = None
        if not isinstance(item, dict):
            raise UpstreamError(f"The {self.module} module's stream sent a malformed line.")
        return item

    def _timed_out(self, seconds: float) -> UpstreamTimeout:
        return UpstreamTimeout(f"The {self.module} module did not answer within {seconds:g} s.")

    def _unreachable(self, exc: BaseException) -> ModuleUnavailable:
        return ModuleUnavailable(f"The {self.module} module is unreachable ({type(exc).__name__}).")

    def _error(self, payload: bytes, status: int) -> TwelveError:
        try:
            parsed = orjson.loads(payload)
        except orjson.JSONDecodeError:
            parsed = None
        if is_module_answer(parsed):
            return from_wire(parsed, status)
        # Not the module's port speaking: a refused internal key, a wrong URL, a proxy. The
        # client's request is fine, so it must not see a 401 or 404 meant for this process.
        refused = status in (401, 403)
        cause = "refused this process's internal key" if refused else f"answered {status}"
        if not self._refusal_logged:
            self._refusal_logged = True
            setting = "TWELVE_INTERNAL_KEY" if refused else f"TWELVE_{self.module.upper()}_URL"
            log.error(
                "module_unavailable", module=self.module, status=status, cause=cause,
                hint=f"check {setting}",
            )  # fmt: skip
        return ModuleUnavailable(f"The {self.module} module is unavailable.")
