"""A fake upstream whose behaviour a test changes while it runs: fail, heal, hang, slow down.

`FakeUpstream(app=switch_app(board))` serves OpenAI's chat completions; the upstream model id in
each request names a line of the `Switchboard`, whose mode the test sets at any time (the server
runs in its own thread; a mode is one attribute write):

- `ok`: the friendly fake's answer (streams too), after `delay` seconds when set;
- `fail`: HTTP 500; `alternate`: HTTP 500 on every other call (the 1st, 3rd, ...);
- `hang`: no answer for a minute (cancelled when the client gives up);
- `filter` / `context`: OpenAI's content-filter / context-length 400.

`GET /v1/models` (what the active health checks call) follows the line named `models`: `ok`
(the default) lists the models, `fail` is HTTP 503, `hang` answers after a minute.

`calls[model]` counts the requests each id received and `active` the handlers still running (a
connection a client abandoned shows here until the server notices).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from tests.fakes import upstream_openai_chat
from tests.fakes.upstream_exchange import STATE, FakeState, json_response


@dataclass
class Switchboard:
    modes: dict[str, str] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    active: int = 0

    def set(self, model: str, mode: str, delay: float = 0.0) -> None:
        self.modes[model] = mode
        self.delays[model] = delay


def _error(status: int, message: str, code: str | None = None) -> web.Response:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    return json_response({"error": error}, status=status)


def switch_app(board: Switchboard) -> Callable[[FakeState], web.Application]:
    async def chat(request: web.Request) -> web.StreamResponse:
        board.active += 1
        try:
            body = orjson.loads(await request.read())
            model = str(body.get("model"))
            board.calls[model] += 1
            mode = board.modes.get(model, "ok")
            if mode == "fail" or (mode == "alternate" and board.calls[model] % 2 == 1):
                return _error(500, "switched to fail")
            if mode == "hang":
                await asyncio.sleep(60)
            if mode == "filter":
                return _error(400, "The response was filtered.", "content_filter")
            if mode == "context":
                return _error(
                    400,
                    "This model's maximum context length is 8 tokens.",
                    "context_length_exceeded",
                )
            delay = board.delays.get(model, 0.0)
            if delay:
                await asyncio.sleep(delay)
            return await upstream_openai_chat.chat_completions(request)
        finally:
            board.active -= 1

    async def models(request: web.Request) -> web.Response:
        board.calls["models"] += 1
        mode = board.modes.get("models", "ok")
        if mode == "fail":
            return _error(503, "switched to fail")
        if mode == "hang":
            await asyncio.sleep(60)
        return json_response({"object": "list", "data": []})

    def build(state: FakeState) -> web.Application:
        app = web.Application()
        app[STATE] = state
        app.router.add_post("/v1/chat/completions", chat)
        app.router.add_get("/v1/models", models)
        return app

    return build
