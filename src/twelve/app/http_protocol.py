"""uvicorn's httptools protocol with the limits it lacks: header size, and slow or silent peers.

Everything here happens before a key is checked, so anyone who reaches the port can try it:
- a request head over `max_header_bytes` is refused with 431 and the connection closed, without
  reading further (the bytes held are bounded by the limit plus one socket read);
- a head not complete within `header_timeout` gets 408 and is closed (silent connections too);
- a body whose next chunk does not come within `body_timeout` gets 408 and is closed (the app
  sees a client disconnect); time the server itself holds reading paused does not count;
- an idle keep-alive connection is closed by uvicorn after `timeout_keep_alive`.
Refusals are written straight to the socket in OpenAI's error shape: no app code runs for them.

It also gathers a response's writes within one event-loop turn into one system call (head and
body; the events of one upstream read), see `CorkedTransport`.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from twelve.kernel.telemetry.metrics import CONNECTIONS_REFUSED

# Per-header overhead not in the name and value the parser hands over: ": " and CRLF.
_HEADER_OVERHEAD = 4


class Limits:
    """The connection limits, read from settings by the server runner."""

    def __init__(self, max_header_bytes: int, header_timeout: float, body_timeout: float) -> None:
        self.max_header_bytes = max_header_bytes
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout


def protocol_class(limits: Limits) -> type[HttpToolsProtocol]:
    """A protocol class bound to `limits` (uvicorn builds protocols from a class and a config)."""

    class Bound(LimitedHttpToolsProtocol):
        pass

    Bound.limits = limits
    return Bound


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    limits = Limits(32 * 1024, 10.0, 30.0)

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._awaiting_head = True
        self._head_bytes = 0  # raw bytes read since this head began (bounds memory)
        self._head_parsed = 0  # the head's bytes as parsed (exact, checked when it completes)
        self._refused = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._awaiting_head:
            if self._head_timer is None:
                self._arm_head_timer()  # the first byte of a request on a kept-alive connection
            self._head_bytes += len(data)
        super().data_received(data)
        # Still in the head after this read, and already over the limit: stop reading now.
        if self._awaiting_head and self._head_bytes > self.limits.max_header_bytes:
            self._refuse_head()

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_parsed = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._head_parsed += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._head_parsed += len(name) + len(value) + _HEADER_OVERHEAD

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_bytes = 0
        self._cancel(self._head_timer)
        self._head_timer = None
        if self._head_parsed > self.limits.max_header_bytes:
            self._refuse_head()
            return
        super().on_headers_complete()
        if self.cycle is not None:
            self.cycle.transport = CorkedTransport(self.transport, self.loop)  # type: ignore[assignment]
        self._arm_body_timer()

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        super().on_body(body)
        self._arm_body_timer()

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._cancel(self._body_timer)
        self._body_timer = None
        self._awaiting_head = True
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        self._refuse(HTTPStatus.BAD_REQUEST, "The request is not valid HTTP.", "invalid_http")

    # Refusals and timers
    def _refuse_head(self) -> None:
        self._refuse(
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
            f"The request's headers are larger than {self.limits.max_header_bytes} bytes.",
            "request_header_fields_too_large",
        )

    def _head_timed_out(self) -> None:
        self._head_timer = None
        self._refuse(
            HTTPStatus.REQUEST_TIMEOUT,
            f"The request's headers did not arrive within {self.limits.header_timeout:g} s.",
            "request_timeout",
        )

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.flow is not None and self.flow.read_paused:
            self._arm_body_timer()  # the app is not reading yet: not the client's delay
            return
        started = self.cycle is not None and self.cycle.response_started
        self._refuse(
            HTTPStatus.REQUEST_TIMEOUT,
            f"The request body stalled for more than {self.limits.body_timeout:g} s.",
            "request_body_timeout",
            write=not started,
        )

    def _refuse(self, status: HTTPStatus, message: str, code: str, *, write: bool = True) -> None:
        if self._refused or self.transport is None or self.transport.is_closing():
            return
        self._refused = True
        CONNECTIONS_REFUSED.labels(code).inc()
        self._cancel_timers()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if write:
            self.transport.write(_response(status, message, code))
        self.transport.close()

    def _arm_head_timer(self) -> None:
        self._cancel(self._head_timer)
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def _arm_body_timer(self) -> None:
        self._cancel(self._body_timer)
        self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)

    def _cancel_timers(self) -> None:
        self._cancel(self._head_timer)
        self._cancel(self._body_timer)
        self._head_timer = self._body_timer = None

    @staticmethod
    def _cancel(timer: asyncio.TimerHandle | None) -> None:
        if timer is not None:
            timer.cancel()


class CorkedTransport:
    """A transport for one response that gathers the writes of one event-loop turn into one.

    uvicorn writes the head as soon as the app sends `http.response.start`, and each body message
    at once; an app sends the head and its body, or a stream relays the events one upstream read
    brought, without yielding to the loop. Gathered, they leave in one system call (and one TCP
    segment) at the end of the turn, so nothing waits longer than it did. Past `MAX_HELD` bytes
    the gathered writes go out at once. Everything else is the real transport's.
    """

    MAX_HELD = 64 * 1024
    __slots__ = ("_held", "_loop", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)
        self._size += len(data)
        if self._size > self.MAX_HELD:
            self.flush()

    def flush(self) -> None:
        if self._held:
            held = self._held[0] if len(self._held) == 1 else b"".join(self._held)
            self._held = []
            self._size = 0
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _response(status: HTTPStatus, message: str, code: str) -> bytes:
    kind = "invalid_request_error"
    body = orjson.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}})
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body
