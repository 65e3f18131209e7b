"""A hostile upstream: a real HTTP server on 127.0.0.1 breaking every rule a provider should keep.

Run it like the friendly fake: `FakeUpstream(app=hostile_app(redirect_to=...))`. Every protocol
path (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, `/v1/messages`) answers, in the
protocol the path belongs to; the upstream model id in the request picks the misbehaviour:

- `redirect-<status>`: a 3xx pointing at `redirect_to` (a second server recording what it gets);
- `ping-only`, `blank-lines`, `trickle`: a 200 stream that sends `: ping` comments, blank lines or
  one byte at a time, never a data event; `ping-after-first`: one valid event, then pings;
- `gzip-bomb`: a small gzip body that inflates to 200 MiB (streamed or not);
- `huge`: a valid answer padded past any sensible size; `deep`: one nested 300 levels deep;
- `echo-secrets-<status>`: an error echoing every request header value and internal URLs;
- `reset`: one valid stream event, then the connection is reset;
- `malformed-<case>`: a 200 whose JSON has the wrong shape (see `MALFORMED`).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from functools import cache
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.upstream_exchange import STATE, FakeState, RecordedRequest, drop

INTERNAL_URL = "http://10.1.2.3:8000/v1"
BOMB_BYTES = 200 * 1024 * 1024
_TICK = 0.05


def with_deep_field(answer: Any, levels: int = 300) -> bytes:
    """`answer` as JSON with an `extra` field nested `levels` deep (more than orjson writes)."""
    nested = b"[" * levels + b"0" + b"]" * levels
    return orjson.dumps({**answer, "extra": "DEEP"}).replace(b'"DEEP"', nested)


def _openai(body: dict[str, Any]) -> dict[str, Any]:
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    if body.get("input") is not None:
        return {"object": "list", "data": [{"embedding": [0.0]}], "usage": usage}
    message = {"role": "assistant", "content": "ok"}
    return {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message}],
        "usage": usage,
    }


def _anthropic() -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "model": "m",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }


# case -> (OpenAI answer, Anthropic answer); a stream carries the answer as its one event.
MALFORMED: dict[str, tuple[Any, Any]] = {
    "usage-list": ({"choices": [], "usage": [1, 2]}, {**_anthropic(), "usage": [1, 2]}),
    "usage-string": ({"choices": [], "usage": "lots"}, {**_anthropic(), "usage": "lots"}),
    "usage-count": (
        {"choices": [], "usage": {"prompt_tokens": "many"}},
        {**_anthropic(), "usage": {"input_tokens": "many"}},
    ),
    "results-int": ({"choices": 5, "data": 5}, {**_anthropic(), "content": 5}),
    "content-string": (
        {"choices": [{"message": {"content": 5}, "delta": {"content": 5}}]},
        {**_anthropic(), "content": "just text"},
    ),
    "tool-use-no-id": (
        {"choices": [{"message": {"tool_calls": 3}, "delta": {"tool_calls": 3}}]},
        {**_anthropic(), "content": [{"type": "tool_use", "name": "f", "input": {}}]},
    ),
    "delta-list": (
        {"choices": [{"message": [], "delta": []}]},
        {"type": "content_block_delta", "index": 0, "delta": []},
    ),
    "not-an-object": ([1, 2, 3], [1, 2, 3]),
}


@cache
def gzip_bomb() -> bytes:
    """BOMB_BYTES of zeros, gzipped (about 200 KB), built a MiB at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(BOMB_BYTES // len(block))]
    return b"".join([*parts, packer.flush()])


def hostile_app(redirect_to: str = "http://127.0.0.1:9/") -> Callable[[FakeState], web.Application]:
    def build(state: FakeState) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app[STATE] = state
        app[_REDIRECT] = redirect_to
        app.router.add_post("/v1/{path:.*}", _answer)
        return app

    return build


_REDIRECT = web.AppKey("redirect_to", str)


async def _answer(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    body = orjson.loads(await request.read())
    headers = {name.lower(): value for name, value in request.headers.items()}
    state.requests.append(RecordedRequest(request.method, request.path, headers, body))
    anthropic = request.path.endswith("/messages")
    model = str(body.get("model", ""))
    kind, _, arg = model.partition("-")
    streaming = bool(body.get("stream"))
    if kind == "redirect":
        raise _redirect(int(arg), request.app[_REDIRECT])
    if kind == "echo" and arg.startswith("secrets-"):
        return _echo_secrets(int(arg.removeprefix("secrets-")), headers, str(request.url))
    if kind == "malformed":
        answer = MALFORMED[arg][1 if anthropic else 0]
        if streaming:
            return await _stream(request, state, model, [_event(answer)])
        return web.Response(body=orjson.dumps(answer), content_type="application/json")
    if kind == "gzip":
        return web.Response(
            body=gzip_bomb(),
            headers={
                "Content-Encoding": "gzip",
                "Content-Type": "text/event-stream" if streaming else "application/json",
            },
        )
    if kind == "huge":
        answer = _anthropic() if anthropic else _openai(body)
        answer["padding"] = "x" * (4 * 1024 * 1024)
        if streaming:
            return await _stream(request, state, model, [_event(answer)] * 4)
        return web.Response(body=orjson.dumps(answer), content_type="application/json")
    if kind == "deep":
        answer = _anthropic() if anthropic else _openai(body)
        data = with_deep_field(answer)
        if streaming:
            return await _stream(request, state, model, [b"data: " + data + b"\n\n"])
        return web.Response(body=data, content_type="application/json")
    first = _first_event(anthropic)
    if model == "ping-only":
        return await _stream(request, state, model, [], forever=b": ping\n\n")
    if model == "blank-lines":
        return await _stream(request, state, model, [], forever=b"\n")
    if model == "trickle":
        return await _stream(request, state, model, [b"data: {"], forever=b"x")
    if model == "ping-after-first":
        return await _stream(request, state, model, [first], forever=b": ping\n\n")
    if model == "reset":
        response = await _stream(request, state, model, [first], end=False)
        await asyncio.sleep(_TICK)
        drop(request)
        return response
    raise web.HTTPNotFound(text=f"no hostile behaviour for {model!r}")


def _redirect(status: int, target: str) -> web.HTTPException:
    kinds: dict[int, type[web.HTTPException]] = {
        301: web.HTTPMovedPermanently,
        302: web.HTTPFound,
        303: web.HTTPSeeOther,
        307: web.HTTPTemporaryRedirect,
        308: web.HTTPPermanentRedirect,
    }
    return kinds[status](location=target)  # type: ignore[call-arg]


def _echo_secrets(status: int, headers: dict[str, str], url: str) -> web.Response:
    values = " ".join(f"{name}={value}" for name, value in sorted(headers.items()))
    message = f"rejected {values} at {url} (upstream {INTERNAL_URL}, see https://status.example)"
    payload = {"error": {"message": message, "type": "invalid_request_error"}}
    return web.Response(status=status, body=orjson.dumps(payload), content_type="application/json")


def _first_event(anthropic: bool) -> bytes:
    if anthropic:
        start = {"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {}}}
        return _event(start)
    delta = {"role": "assistant", "content": "hi"}
    choice = {"index": 0, "delta": delta, "finish_reason": None}
    return _event({"object": "chat.completion.chunk", "choices": [choice]})


def _event(payload: Any) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


async def _stream(
    request: web.Request,
    state: FakeState,
    model: str,
    events: list[bytes],
    *,
    forever: bytes | None = None,
    end: bool = True,
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    try:
        for event in events:
            await response.write(event)
        while forever is not None:
            await asyncio.sleep(_TICK)
            await response.write(forever)
        if end:
            await response.write_eof()
    except (asyncio.CancelledError, ConnectionResetError):
        state.abandoned.append(model)
        raise
    return response
