"""The calling side of the internal routes: one remote module's port over the pooled HTTP client.

Every call has a deadline (`TWELVE_INTERNAL_CALL_TIMEOUT` for a whole call, or the time left to
the request being served if that is sooner; `TWELVE_INTERNAL_STREAM_IDLE_TIMEOUT` between the lines
of a stream) and sends it along (`x-twelve-deadline`) for the serving side to keep. Redirects are
never followed: an internal route does not redirect, so a redirect means something else answered.

A command (`call(..., command=True)`) carries an idempotency key, and is sent once more with the
same key when the connection breaks before its answer arrives: the serving side answers the
repeat with the first answer, so the command takes effect once.
"""

from __future__ import annotations

import secrets
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
    DEADLINE_HEADER,
    IDEMPOTENCY_HEADER,
    INTERNAL_KEY_HEADER,
    JSON,
    MAX_DEADLINE_SECONDS,
    ModuleUnavailable,
    from_wire,
    is_module_answer,
    remaining,
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
    # How many times a command is sent again after its connection broke before the answer.
    command_retries: int = Field(default=1, ge=0, le=5)


class ConnectionLost(ModuleUnavailable):
    """The connection broke after the request may have been sent: a command is sent again."""


# Failures after which the serving side may have run the call and the answer was lost.
_LOST = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError)


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
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=limits.connect_timeout, sock_read=limits.stream_idle_timeout
        )
        # The cause of a refusal is logged once, not on every request, until a call succeeds.
        self._refusal_logged = False

    async def call(self, method: str, args: JSON, *, command: bool = False) -> Any:
        """`method`'s answer; a command is sent with an idempotency key (see the docstring)."""
        if not command:
            return await self._call_once(method, args, {})
        headers = {IDEMPOTENCY_HEADER: secrets.token_urlsafe(18)}
        for _ in range(self.deadlines.command_retries):
            try:
                return await self._call_once(method, args, headers)
            except ConnectionLost:
                continue
        return await self._call_once(method, args, headers)

    async def _call_once(self, method: str, args: JSON, headers: dict[str, str]) -> Any:
        seconds = self.deadlines.call_timeout
        left = remaining()
        if left is not None:
            if left <= 0:
                raise self._timed_out(0)
            seconds = min(seconds, left)
        timeout = aiohttp.ClientTimeout(total=seconds, sock_connect=self.deadlines.connect_timeout)
        response = await self._post(method, args, timeout, headers | _deadline_header(seconds))
        try:
            payload = await response.read()
        except TimeoutError:
            raise self._timed_out(seconds) from None
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
        left = remaining()
        headers = _deadline_header(left) if left is not None else {}
        response = await self._post(method, args, self._stream_timeout, headers)
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
        self, method: str, args: JSON, deadline: aiohttp.ClientTimeout, extra: dict[str, str]
    ) -> aiohttp.ClientResponse:
        headers = {INTERNAL_KEY_HEADER: self._key, "content-type": "application/json"} | extra
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
        lost = isinstance(exc, _LOST)
        return (ConnectionLost if lost else ModuleUnavailable)(
            f"The {self.module} module is unreachable ({type(exc).__name__})."
        )

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


def _deadline_header(seconds: float) -> dict[str, str]:
    # At least a millisecond (zero is refused), at most what the serving side accepts.
    return {DEADLINE_HEADER: f"{min(max(seconds, 0.001), MAX_DEADLINE_SECONDS):.3f}"}
