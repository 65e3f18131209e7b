"""A fake upstream model provider: a real HTTP server speaking OpenAI's and Anthropic's APIs.

Tests run it in a background thread with its own event loop (`with FakeUpstream() as fake:`),
so requests cross a real socket exactly as they would to a provider. What it does is chosen by
the upstream model id in each request (see `upstream_behaviour.py`). Both protocols live under
`/v1`: point an OpenAI-compatible deployment and an Anthropic one at `fake.base_url + "/v1"`.

Standalone, for the benchmark and demos: `python -m tests.fakes.upstream --port 9100`.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from tests.fakes import (
    upstream_anthropic,
    upstream_local_tasks,
    upstream_openai_chat,
    upstream_openai_completions,
    upstream_openai_embeddings,
    upstream_openai_media,
)
from tests.fakes.upstream_exchange import STATE, FakeState, RecordedRequest

__all__ = ["FakeUpstream", "RecordedRequest", "build_app"]


def build_app(state: FakeState) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE] = state
    app.router.add_post("/v1/chat/completions", upstream_openai_chat.chat_completions)
    app.router.add_post("/v1/completions", upstream_openai_completions.completions)
    app.router.add_post("/v1/embeddings", upstream_openai_embeddings.embeddings)
    app.router.add_get("/v1/models", upstream_openai_embeddings.models)
    app.router.add_post("/v1/audio/transcriptions", upstream_openai_media.transcriptions)
    app.router.add_post("/v1/audio/speech", upstream_openai_media.speech)
    app.router.add_post("/v1/images/generations", upstream_openai_media.image_generations)
    app.router.add_post("/v1/images/analyses", upstream_local_tasks.analyses)
    app.router.add_post("/v1/ocr", upstream_local_tasks.ocr)
    app.router.add_post("/v1/classifications", upstream_local_tasks.classifications)
    app.router.add_post("/v1/summaries", upstream_local_tasks.summaries)
    app.router.add_get("/files/picture.png", upstream_local_tasks.picture)
    app.router.add_post("/v1/messages", upstream_anthropic.messages)
    return app


class FakeUpstream:
    """The fake provider on 127.0.0.1, in a thread of its own. `port=0` picks a free port.

    `api_key`, when set, is required (as `Authorization: Bearer` or `x-api-key`). `requests`
    holds every request received, in order, with lower-cased header names. `app` builds the
    server's routes (`upstream_hostile.hostile_app` for the misbehaving one).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        api_key: str | None = None,
        app: Callable[[FakeState], web.Application] = build_app,
    ) -> None:
        self._port = port
        self._app = app
        self._state = FakeState(api_key=api_key)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._bound_port = 0

    @property
    def base_url(self) -> str:
        if not self._bound_port:
            raise RuntimeError("FakeUpstream is not started")
        return f"http://127.0.0.1:{self._bound_port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._state.requests

    def start(self) -> FakeUpstream:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fake-upstream", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("FakeUpstream did not start in 10 s")
        if self._failure is not None:
            raise RuntimeError("FakeUpstream could not start") from self._failure
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._thread = None
        self._bound_port = 0

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        # Cancel handlers when their client goes away, and do not wait long for slow ones
        # at shutdown: a `slow-<ms>` request must not hold up the end of a test.
        runner = web.AppRunner(
            self._app(self._state),
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=0.5,
        )
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", self._port)
            loop.run_until_complete(site.start())
            self._bound_port = runner.addresses[0][1]
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI/Anthropic upstream for Twelve.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--api-key", default=None, help="require this key from clients")
    args = parser.parse_args()
    app = build_app(FakeState(api_key=args.api_key, record=False))
    web.run_app(app, host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
