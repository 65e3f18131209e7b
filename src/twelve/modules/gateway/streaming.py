"""Streams to the client: open a stream up to its first chunk, then relay it as SSE.

The usage chunk (empty `choices`, with `usage`) is always asked of the upstream so usage is metered;
the client sees it only when it asked with `stream_options.include_usage`. A failure after the
first byte cannot be retried: the client gets an `error` event and the stream ends. The relay
tells the exchange the usage it saw and how the stream ended; the finaliser does the rest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson

from twelve.kernel.errors import TwelveError
from twelve.kernel.sse import DONE, encode_data
from twelve.kernel.streams import close_stream
from twelve.kernel.telemetry.error_kinds import kind_of
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import ERRORS
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.models.api import JSONObject

log = get_logger("twelve.gateway.streaming")


@dataclass(slots=True)
class OpenStream:
    first: JSONObject | None
    rest: AsyncIterator[JSONObject]


async def open_stream(chunks: AsyncIterator[JSONObject]) -> OpenStream:
    """Wait for the first chunk, so that connection and status errors surface before any byte."""
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        return OpenStream(None, chunks)
    except BaseException:
        await close_stream(chunks)
        raise
    return OpenStream(first, chunks)


async def relay(stream: OpenStream, exchange: Exchange) -> AsyncIterator[bytes]:
    options = exchange.body.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    try:
        if stream.first is not None:
            for out in _emit(stream.first, include_usage, exchange):
                yield out
            async for chunk in stream.rest:
                for out in _emit(chunk, include_usage, exchange):
                    yield out
        exchange.stream_end = "ok"
        yield DONE
    except TwelveError as exc:
        exchange.stream_end = "stream_failed"
        ERRORS.labels(kind=kind_of(exc)).inc()
        log.warning("stream_failed", error=exc.message)
        yield encode_data(orjson.dumps(exc.body()))
    finally:
        await close_stream(stream.rest)


def _emit(chunk: JSONObject, include_usage: bool, exchange: Exchange) -> list[bytes]:
    if exchange.recording is not None:
        exchange.recording.add(chunk)
    usage = exchange.endpoint.usage(chunk)
    if usage is not None:
        exchange.usage = usage
    if not include_usage and "usage" in chunk:
        if usage and not chunk.get("choices"):
            return []
        chunk = {k: v for k, v in chunk.items() if k != "usage"}
    return [encode_data(orjson.dumps(chunk))]
