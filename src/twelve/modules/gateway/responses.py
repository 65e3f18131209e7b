"""The streaming response: relays a stream while watching for the client to leave.

Starlette's `StreamingResponse` notices a departed client only when a write fails, so a stalled
upstream kept its connection (and its bill) open long after the client had gone. Here the relay
runs in a task raced against the client's `http.disconnect`: when the client leaves, the relay is
cancelled, which closes the upstream call at once. When the relay task ends, however it ends, its
done-callback hands the exchange to the finaliser, so even a cancelled response is finished.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from twelve.kernel.streams import close_stream
from twelve.kernel.telemetry.tracing import child_span, tracer
from twelve.modules.gateway.exchange import Exchange, Outcome
from twelve.modules.gateway.finaliser import Finaliser

_TRACER = tracer(__name__)


class RelayResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        exchange: Exchange,
        finaliser: Finaliser,
        headers: Mapping[str, str],
    ) -> None:
        # Not Response.__init__: with no body it would declare `content-length: 0`.
        self.status_code = 200
        self.background = None
        self.init_headers(headers)
        self._chunks = chunks
        self._exchange = exchange
        self._finaliser = finaliser

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with child_span(_TRACER, "response", {"twelve.streaming": True}):
            await self._relay(send)

    async def _relay(self, send: Send) -> None:
        exchange = self._exchange
        pump = asyncio.ensure_future(self._pump(send))
        pump.add_done_callback(
            lambda done: self._finaliser.finish_soon(exchange, _outcome_of(done, exchange))
        )
        gone = asyncio.ensure_future(exchange.client_gone()) if exchange.client_gone else None
        try:
            racing = {pump} if gone is None else {pump, gone}
            await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if gone is not None:
                gone.cancel()
            if not pump.done():
                pump.cancel()
                await asyncio.wait((pump,))
        await self._finaliser.finish(exchange, _outcome_of(pump, exchange))  # waits for settling
        failure = None if pump.cancelled() else pump.exception()
        if failure is not None and not isinstance(failure, OSError):  # OSError: client left
            raise failure

    async def _pump(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            async for chunk in self._chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            # Cancelled between chunks, the relay is not running: close it (and its upstream).
            await close_stream(self._chunks)


def _outcome_of(pump: asyncio.Future[None], exchange: Exchange) -> Outcome:
    if pump.cancelled() or isinstance(pump.exception(), OSError):
        return "client_gone"
    if pump.exception() is not None:
        return "error"
    return exchange.stream_end or "ok"
