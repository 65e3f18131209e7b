"""Calls between modules in different processes: JSON over HTTP on internal routes.

A module served in this process can expose its port at `POST /internal/<module>/<method>`; a module
served elsewhere is reached through an `RpcClient`. Arguments travel as one JSON object; a result
as JSON (200) or as an error in the OpenAI shape with a `twelve` member that keeps what callers
act on (`kind`, `retryable`, headers). A stream is NDJSON, opened only once its first item exists,
so a failure before the first byte is still an error status that the caller may retry. The edge
middleware carries `traceparent` both ways, so one trace spans the processes.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from twelve.kernel.errors import AuthenticationFailed, NotFound, TwelveError, UpstreamError
from twelve.kernel.http_client import HttpClient
from twelve.kernel.http_errors import from_validation_error
from twelve.kernel.streams import close_stream
from twelve.kernel.telemetry.tracing import inject

INTERNAL_KEY_HEADER = "x-twelve-internal-key"
JSON = dict[str, Any]
Call = Callable[[JSON], Awaitable[Any]]
Stream = Callable[[JSON], AsyncIterator[JSON]]


@dataclass(frozen=True)
class Endpoints:
    """A module's port as internal routes: plain calls and streams, by method name."""

    calls: Mapping[str, Call]
    streams: Mapping[str, Stream] = field(default_factory=dict)


class ModuleUnavailable(TwelveError):
    status = 503
    type = "service_unavailable"
    code = "module_unavailable"


def to_wire(exc: TwelveError) -> JSON:
    body = exc.body()
    body["twelve"] = {
        "status": exc.status,
        "kind": getattr(exc, "kind", None),
        "retryable": getattr(exc, "retryable", False),
        "headers": exc.headers,
    }
    return body


def from_wire(payload: JSON, status: int) -> TwelveError:
    error = payload.get("error") or {}
    extra = payload.get("twelve") or {}
    message = str(error.get("message") or "A Twelve module failed.")
    common: dict[str, Any] = {
        "param": error.get("param"),
        "code": error.get("code"),
        "status": int(extra.get("status") or status),
        "headers": extra.get("headers") or None,
    }
    if extra.get("kind"):
        return UpstreamError(
            message,
            type_=error.get("type"),
            retryable=bool(extra.get("retryable")),
            kind=str(extra["kind"]),
            **common,
        )
    rebuilt = TwelveError(message, **common)
    rebuilt.type = str(error.get("type") or "server_error")
    return rebuilt


def internal_router(module: str, endpoints: Endpoints, internal_key: str) -> APIRouter:
    router = APIRouter(prefix=f"/internal/{module}", include_in_schema=False)
    expected = internal_key.encode()

    @router.post("/{method}")
    async def dispatch(method: str, request: Request) -> Response:
        presented = request.headers.get(INTERNAL_KEY_HEADER, "").encode()
        if not hmac.compare_digest(presented, expected):
            raise AuthenticationFailed("Internal routes need the internal key.")
        args = orjson.loads(await request.body() or b"{}")
        try:
            if method in endpoints.calls:
                result = await endpoints.calls[method](args)
                return Response(
                    orjson.dumps(to_jsonable_python(result)), media_type="application/json"
                )
            if method in endpoints.streams:
                return await _open_stream(endpoints.streams[method](args))
        except ValidationError as exc:
            raise from_validation_error(exc, args) from None
        except TwelveError as exc:
            return Response(orjson.dumps(to_wire(exc)), exc.status, media_type="application/json")
        raise NotFound(f"The {module} module has no method {method!r}.")

    return router


async def _open_stream(items: AsyncIterator[JSON]) -> Response:
    try:
        first = await anext(items)
    except StopAsyncIteration:
        return StreamingResponse(iter(()), media_type="application/x-ndjson")

    async def lines() -> AsyncIterator[bytes]:
        try:
            yield orjson.dumps(first) + b"\n"
            async for item in items:
                yield orjson.dumps(item) + b"\n"
        except TwelveError as exc:
            yield orjson.dumps(to_wire(exc)) + b"\n"
        finally:
            await close_stream(items)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


class RpcClient:
    """Calls one remote module's internal routes through the process's pooled HTTP client."""

    def __init__(self, module: str, base_url: str, internal_key: str, http: HttpClient) -> None:
        self.module = module
        self._base = f"{base_url.rstrip('/')}/internal/{module}"
        self._key = internal_key
        self._http = http
        # No overall limit: the serving module bounds its own upstream calls.
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)

    async def call(self, method: str, args: JSON) -> Any:
        async with self._post(method, args) as response:
            payload = await response.read()
            if response.status != 200:
                raise _error(payload, response.status)
            return orjson.loads(payload)

    async def stream(self, method: str, args: JSON) -> AsyncIterator[JSON]:
        async with self._post(method, args) as response:
            if response.status != 200:
                raise _error(await response.read(), response.status)
            try:
                async for line in response.content:
                    if line.strip():
                        item = orjson.loads(line)
                        if "error" in item:
                            raise from_wire(item, 502)
                        yield item
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise UpstreamError(
                    f"The {self.module} module's stream broke ({type(exc).__name__}).",
                    kind="connection",
                ) from None

    def _post(self, method: str, args: JSON) -> _Post:
        headers = {INTERNAL_KEY_HEADER: self._key, "content-type": "application/json"}
        inject(headers)
        return _Post(self, method, orjson.dumps(to_jsonable_python(args)), headers)


class _Post:
    """`session.post(...)` as an async context manager whose connection errors are ours."""

    def __init__(self, client: RpcClient, method: str, data: bytes, headers: JSON) -> None:
        self._client, self._method, self._data, self._headers = client, method, data, headers
        self._response: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        client = self._client
        try:
            self._response = await client._http.session.post(
                f"{client._base}/{self._method}",
                data=self._data,
                headers=self._headers,
                timeout=client._timeout,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ModuleUnavailable(
                f"The {client.module} module is unreachable ({type(exc).__name__})."
            ) from None
        return self._response

    async def __aexit__(self, *_exc: object) -> None:
        if self._response is not None:
            self._response.release()


def _error(payload: bytes, status: int) -> TwelveError:
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        parsed = {}
    return from_wire(parsed if isinstance(parsed, dict) else {}, status)
