"""HTTP exchanges with an upstream: one JSON round trip, or one server-sent event stream.

This is where time limits and transport failures become `UpstreamError`s, so both protocols
behave the same: status errors and connection failures raise before a stream yields anything,
and a stream that breaks later raises a non-retryable error from the iterator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping

import aiohttp
import orjson
from aiohttp.http_exceptions import HttpProcessingError

from twelve.kernel.errors import UpstreamTimeout
from twelve.kernel.http_client import HttpClient
from twelve.kernel.sse import ServerSentEvent, decode_events
from twelve.modules.models.adapters.endpoint import Endpoint
from twelve.modules.models.adapters.upstream_errors import (
    connection_error,
    error_from_response,
    invalid_payload,
    stream_interrupted,
    stream_timed_out,
)
from twelve.modules.models.api import JSONObject

_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_SSE_HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream"}


async def post_json(
    http: HttpClient,
    endpoint: Endpoint,
    path: str,
    body: JSONObject,
    headers: Mapping[str, str],
) -> JSONObject:
    """POST a JSON body and return the JSON object the upstream answered with."""
    sent = {**_JSON_HEADERS, **endpoint.headers, **headers}
    try:
        async with http.session.post(
            endpoint.url(path),
            data=orjson.dumps(body),
            headers=sent,
            timeout=aiohttp.ClientTimeout(total=endpoint.timeout),
        ) as response:
            payload = await response.read()
            if response.status >= 400:
                raise error_from_response(
                    response.status, payload, response.headers, endpoint.secrets
                )
    except TimeoutError:
        raise UpstreamTimeout() from None
    except (aiohttp.ClientError, HttpProcessingError) as exc:
        raise connection_error(exc) from exc
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise invalid_payload("a response") from None
    if not isinstance(parsed, dict):
        raise invalid_payload("a response")
    return parsed


async def post_stream(
    http: HttpClient,
    endpoint: Endpoint,
    path: str,
    body: JSONObject,
    headers: Mapping[str, str],
) -> AsyncGenerator[ServerSentEvent, None]:
    """POST a JSON body and yield the server-sent events of the streamed answer."""
    sent = {**_SSE_HEADERS, **endpoint.headers, **headers}
    # No total limit on a stream: connect + first byte share one budget, then each read has its
    # own (sock_read), so a long but lively generation is never cut.
    timeout = aiohttp.ClientTimeout(total=None, sock_read=endpoint.timeout)
    response: aiohttp.ClientResponse | None = None
    try:
        async with asyncio.timeout(endpoint.timeout):
            response = await http.session.post(
                endpoint.url(path), data=orjson.dumps(body), headers=sent, timeout=timeout
            )
            if response.status >= 400:
                payload = await response.read()
                raise error_from_response(
                    response.status, payload, response.headers, endpoint.secrets
                )
    except TimeoutError:
        _discard(response)
        raise UpstreamTimeout() from None
    except (aiohttp.ClientError, HttpProcessingError) as exc:
        _discard(response)
        raise connection_error(exc) from exc
    except BaseException:
        _discard(response)
        raise
    finished = False
    try:
        async for event in decode_events(response.content):
            yield event
        finished = True
    except TimeoutError:
        raise stream_timed_out() from None
    except (aiohttp.ClientError, HttpProcessingError) as exc:
        raise stream_interrupted(type(exc).__name__) from exc
    except UnicodeDecodeError:
        raise invalid_payload("a stream event", retryable=False) from None
    finally:
        if finished:
            response.release()
        else:
            # Unread bytes left on the socket: the connection cannot go back to the pool.
            response.close()


def parse_event(event: ServerSentEvent) -> JSONObject:
    """The JSON object carried by one event (a bad one mid-stream is not worth a retry)."""
    try:
        parsed = orjson.loads(event.data)
    except orjson.JSONDecodeError:
        raise invalid_payload("a stream event", retryable=False) from None
    if not isinstance(parsed, dict):
        raise invalid_payload("a stream event", retryable=False)
    return parsed


def _discard(response: aiohttp.ClientResponse | None) -> None:
    if response is not None:
        response.close()
