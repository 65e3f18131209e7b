"""An upstream that hangs, and counts the calls it is still holding open.

`hang-before`: accept the request, then say nothing for an hour. `hang-mid`: send one chat chunk,
then nothing for an hour. A handler stays "in flight" until its caller closes the connection
(aiohttp cancels the handler then), so `in_flight` falling to 0 proves the gateway released every
upstream call. A real HTTP server on 127.0.0.1, in a thread of its own.
"""

from __future__ import annotations

import asyncio
import threading
import time

import orjson
from aiohttp import web

HOUR = 3600.0


class HangingUpstream:
    def __init__(self) -> None:
        self.in_flight = 0
        self.received = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hanging-upstream", daemon=True)
        self.base_url = ""

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.received += 1
        self.in_flight += 1
        try:
            if body.get("model") == "hang-before":
                await asyncio.sleep(HOUR)
            response = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await response.prepare(request)
            chunk = {
                "id": "chatcmpl-hang",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": "first "},
                        "finish_reason": None,
                    }
                ],
            }
            await response.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
            await asyncio.sleep(HOUR)
            return response
        finally:
            self.in_flight -= 1

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=0.5,
        )
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(runner.cleanup())
            self._loop.close()

    def wait_until_released(self, seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while self.in_flight:
            assert time.monotonic() < deadline, f"{self.in_flight} upstream calls still open"
            time.sleep(0.05)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("HangingUpstream did not start in 10 s")

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
