"""What every fake upstream endpoint shares: recording, auth, behaviours, SSE and dropped sockets.

A protocol (OpenAI, Anthropic) plugs in its error shapes and auth check as a `Dialect`; `gate`
then does the work that is the same for both before the protocol writes its reply.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.upstream_behaviour import Behaviour, behaviour_for


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    json: Any


@dataclass
class FakeState:
    api_key: str | None = None
    # Off when run standalone: a benchmark's millions of requests would fill memory.
    record: bool = True
    requests: list[RecordedRequest] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    # Upstream models whose stream the client closed before it ended (the hostile fake's).
    abandoned: list[str] = field(default_factory=list)


STATE = web.AppKey("state", FakeState)


@dataclass(frozen=True, slots=True)
class Dialect:
    """The protocol-specific parts of a fake endpoint."""

    error: Callable[[int, str | None], web.Response]
    authorized: Callable[[web.Request, str], bool]
    context_error: Callable[[], web.Response]
    filter_error: Callable[[], web.Response]
    # A reason the request is invalid for this endpoint, as the real API would say it.
    invalid: Callable[[web.Request, dict[str, Any]], str | None]


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(payload), status=status, content_type="application/json", headers=headers
    )


async def gate(
    request: web.Request, dialect: Dialect
) -> web.StreamResponse | tuple[dict[str, Any], Behaviour]:
    """Record the request and apply auth, validation and behaviours: an early response, or the
    body and behaviour for the protocol to answer."""
    state = request.app[STATE]
    raw = await request.read()
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = None
    if state.record:
        headers = {name.lower(): value for name, value in request.headers.items()}
        state.requests.append(RecordedRequest(request.method, request.path, headers, body))
    if state.api_key is not None and not dialect.authorized(request, state.api_key):
        return dialect.error(401, None)
    if not isinstance(body, dict):
        return dialect.error(400, "We could not parse the JSON body of your request.")
    if problem := dialect.invalid(request, body):
        return dialect.error(400, problem)
    model = str(body.get("model", ""))
    behaviour = behaviour_for(model)
    if behaviour.kind == "slow":
        await asyncio.sleep(behaviour.number / 1000)
    elif behaviour.kind == "flaky":
        state.calls[model] += 1
        if state.calls[model] <= behaviour.number:
            return dialect.error(503, None)
    elif behaviour.kind == "fail":
        return dialect.error(behaviour.number, None)
    elif behaviour.kind == "context":
        return dialect.context_error()
    elif behaviour.kind == "filter":
        return dialect.filter_error()
    elif behaviour.kind == "cut" and not body.get("stream"):
        drop(request)
        return web.Response()
    return body, behaviour


async def open_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    return response


def drop(request: web.Request) -> None:
    """Close the socket mid-response, as a crashed upstream or a cut network would."""
    if request.transport is not None:
        request.transport.close()


async def write_events(
    request: web.Request, events: list[bytes], behaviour: Behaviour, error_event: bytes
) -> web.StreamResponse:
    """Stream `events`, honouring `cut-`, `midfail-` and `stall-<n>` after n events."""
    response = await open_stream(request)
    for count, event in enumerate(events):
        if behaviour.kind == "cut" and count >= behaviour.number:
            drop(request)
            return response
        if behaviour.kind == "midfail" and count >= behaviour.number:
            await response.write(error_event)
            break
        if behaviour.kind == "stall" and count >= behaviour.number:
            # Cancelled when the client gives up (the runner cancels handlers on disconnect).
            await asyncio.sleep(60)
        await response.write(event)
    await response.write_eof()
    return response
