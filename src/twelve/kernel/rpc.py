"""Calls between modules in different processes: JSON over HTTP on internal routes.

A module served in this process can expose its port at `POST /internal/<module>/<method>`; a module
served elsewhere is reached through an `RpcClient` (`rpc_client.py`). Arguments travel as one JSON
object; a result as JSON (200) or as an error in the OpenAI shape (`rpc_wire.py`). A stream is
NDJSON, opened only once its first item exists, so a failure before the first byte is still an
error status that the caller may retry. The edge middleware carries `traceparent` both ways, so one
trace spans the processes.

Arguments are checked before the port sees them: the body must be one JSON object, a missing
argument is a 400 naming it, and the arguments whose names have a fixed meaning on the wire
(`body`, `deployment`, `command` are objects; `*_id`, `key`, `name`, `model`, `capability`,
`operation` are strings) must have that type. A bad call is the caller's 400, never a 500.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from twelve.kernel.errors import (
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    TwelveError,
    UpstreamTimeout,
)
from twelve.kernel.http_errors import from_validation_error
from twelve.kernel.idempotency import Answer, IdempotencyMemory
from twelve.kernel.json_body import read_json_object
from twelve.kernel.rpc_client import RpcClient, RpcDeadlines
from twelve.kernel.rpc_wire import (
    DEADLINE_HEADER,
    IDEMPOTENCY_HEADER,
    INTERNAL_KEY_HEADER,
    JSON,
    ModuleUnavailable,
    deadline_within,
    from_wire,
    read_deadline,
    read_idempotency_key,
    to_wire,
)
from twelve.kernel.streams import close_stream

__all__ = [
    "INTERNAL_KEY_HEADER",
    "JSON",
    "Arguments",
    "Call",
    "Endpoints",
    "ModuleUnavailable",
    "RpcClient",
    "RpcDeadlines",
    "Stream",
    "from_wire",
    "internal_path",
    "internal_router",
    "to_wire",
]

Call = Callable[[JSON], Awaitable[Any]]
Stream = Callable[[JSON], AsyncIterator[JSON]]

_OBJECT_ARGUMENTS = frozenset({"body", "deployment", "command"})
_STRING_ARGUMENTS = frozenset({"key", "name", "model", "capability", "operation"})


@dataclass(frozen=True)
class Endpoints:
    """A module's port as internal routes: plain calls and streams, by method name."""

    calls: Mapping[str, Call]
    streams: Mapping[str, Stream] = field(default_factory=dict)
    # The calls that change state: a repeated idempotency key gets the first answer back.
    commands: frozenset[str] = frozenset()

    def merged(self, other: Endpoints) -> Endpoints:
        """Both ports' methods on one module's routes (a name in both is a wiring mistake)."""
        clash = (set(self.calls) | set(self.streams)) & (set(other.calls) | set(other.streams))
        if clash:
            raise ValueError(f"two ports of one module both have {', '.join(sorted(clash))}")
        return Endpoints(
            calls={**self.calls, **other.calls},
            streams={**self.streams, **other.streams},
            commands=self.commands | other.commands,
        )


class Arguments(dict[str, Any]):
    """A call's arguments: reading one the caller did not send is the caller's 400."""

    def __missing__(self, name: str) -> Any:
        raise InvalidRequest(f"The argument '{name}' is required.", param=name)


def _checked_arguments(data: JSON) -> Arguments:
    for name, value in data.items():
        if name in _OBJECT_ARGUMENTS and not isinstance(value, dict):
            raise InvalidRequest(f"The argument '{name}' must be an object.", param=name)
        wants_text = name in _STRING_ARGUMENTS or name.endswith("_id")
        if wants_text and value is not None and not isinstance(value, str):
            raise InvalidRequest(f"The argument '{name}' must be a string.", param=name)
    return Arguments(data)


def internal_path(module: str, method: str) -> str:
    """Where `module`'s `method` is served (for a module that bounds a route's body itself)."""
    return f"/internal/{module}/{method}"


def encoded_body_bytes(content_bytes: int) -> int:
    """The JSON body that carries `content_bytes` of base64 content, with room for the rest (a
    route's own body bound, when content crosses it)."""
    return (content_bytes + 2) // 3 * 4 + 64 * 1024


def internal_router(
    module: str,
    endpoints: Endpoints,
    internal_key: str,
    memory: IdempotencyMemory | None = None,
) -> APIRouter:
    router = APIRouter(prefix=f"/internal/{module}", include_in_schema=False)
    expected = internal_key.encode()
    answers = memory or IdempotencyMemory()

    @router.post("/{method}")
    async def dispatch(method: str, request: Request) -> Response:
        presented = request.headers.get(INTERNAL_KEY_HEADER, "").encode()
        # An empty expected key never matches (it would accept a request with no header).
        if not expected or not hmac.compare_digest(presented, expected):
            raise AuthenticationFailed(
                "Internal routes need the internal key.", code="invalid_internal_key"
            )
        if method not in endpoints.calls and method not in endpoints.streams:
            raise NotFound(f"The {module} module has no method {method!r}.")
        try:
            seconds = read_deadline(request.headers.get(DEADLINE_HEADER))
            key = read_idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
            args = _checked_arguments(await read_json_object(request))
        except TwelveError as exc:
            return _error(exc)
        if method in endpoints.streams:
            return await _stream_answer(endpoints.streams[method], args, seconds)
        call = endpoints.calls[method]

        async def run() -> Answer:
            return await _call_answer(call, args, seconds)

        answer = (
            await answers.answer(f"{method}:{key}", run)
            if key is not None and method in endpoints.commands
            else await run()
        )
        return Response(answer.body, answer.status, media_type="application/json")

    return router


async def _call_answer(call: Call, args: Arguments, seconds: float | None) -> Answer:
    try:
        with deadline_within(seconds):
            async with asyncio.timeout(seconds):
                result = await _validated(call, args)
        return Answer(200, orjson.dumps(to_jsonable_python(result)))
    except TimeoutError:
        exc: TwelveError = _past_deadline(seconds)
    except TwelveError as error:
        exc = error
    return Answer(exc.status, orjson.dumps(to_wire(exc)))


async def _validated(call: Call, args: Arguments) -> Any:
    try:
        return await call(args)
    except ValidationError as exc:
        raise from_validation_error(exc, args) from None


async def _stream_answer(stream: Stream, args: Arguments, seconds: float | None) -> Response:
    try:
        with deadline_within(seconds):
            async with asyncio.timeout(seconds):
                return await _open_stream(stream(args))
    except TimeoutError:
        return _error(_past_deadline(seconds))
    except ValidationError as exc:
        return _error(from_validation_error(exc, args))
    except TwelveError as exc:
        return _error(exc)


def _past_deadline(seconds: float | None) -> UpstreamTimeout:
    return UpstreamTimeout(f"The call did not finish within its deadline ({seconds:g} s).")


def _error(exc: TwelveError) -> Response:
    return Response(orjson.dumps(to_wire(exc)), exc.status, media_type="application/json")


async def _open_stream(items: AsyncIterator[JSON]) -> Response:
    try:
        first = await anext(items)
    except StopAsyncIteration:
        return StreamingResponse(iter(()), media_type="application/x-ndjson")
    except BaseException:
        await close_stream(items)  # past its deadline, or failed before its first item
        raise

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
