"""HTTP exchanges with an upstream: one JSON round trip, or one server-sent event stream.

This is where time limits, size limits and transport failures become `UpstreamError`s, so every
protocol behaves the same: redirects are never followed (a 3xx is an error, and credentials never
reach its target); status errors, connection failures and a missing first event raise before a
stream yields anything; a stream that breaks or stalls later raises a non-retryable error from
the iterator. Stream deadlines count between events that carry data, not bytes: an upstream that
sends only `: ping` comments, blank lines or a byte at a time still runs out of time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping

import aiohttp
import orjson
from aiohttp.http_exceptions import HttpProcessingError
from multidict import CIMultiDictProxy

from twelve.kernel.http_client import HttpClient
from twelve.kernel.sse import ServerSentEvent, decode_events
from twelve.kernel.streams import close_stream
from twelve.modules.models.adapters.endpoint import Endpoint
from twelve.modules.models.adapters.idle_watch import IdleWatch
from twelve.modules.models.adapters.json_payload import BadJSON, parse_object
from twelve.modules.models.adapters.response_body import (
    BadEncoding,
    BodyTooLarge,
    body_chunks,
    read_body,
)
from twelve.modules.models.adapters.upstream_errors import error_from_response
from twelve.modules.models.adapters.upstream_failures import (
    connection_error,
    malformed,
    redirected,
    stream_interrupted,
    stream_timed_out,
    timed_out,
    too_large,
)
from twelve.modules.models.adapters.wire_body import answer_is_json, binary, encode_request
from twelve.modules.models.api import JSONObject, Operation

# An error body is a message, not a payload: anything longer is not worth reading.
_MAX_ERROR_BYTES = 64 * 1024
_TRANSPORT_ERRORS = (aiohttp.ClientError, HttpProcessingError, ConnectionError)


async def post_json(
    http: HttpClient,
    endpoint: Endpoint,
    path: str,
    body: JSONObject,
    headers: Mapping[str, str],
) -> JSONObject:
    """POST a JSON body and return the JSON object the upstream answered with."""
    payload, _ = await _round_trip(http, endpoint, path, orjson.dumps(body), headers)
    return parse_payload(payload, endpoint, "the response")


async def post_operation(
    http: HttpClient,
    endpoint: Endpoint,
    operation: Operation,
    body: JSONObject,
    headers: Mapping[str, str],
) -> JSONObject:
    """POST `body` encoded as `operation` says (JSON or a multipart form) and read the answer
    as it says: a JSON object, or bytes as a `BinaryAnswer`."""
    data = encode_request(operation, body)
    if isinstance(data, aiohttp.FormData):
        # aiohttp writes the form's own Content-Type (with its boundary).
        headers = {"Content-Type": "", **headers}
    if operation.answer != "json":
        headers = {"Accept": "*/*", **headers}
    payload, answered = await _round_trip(http, endpoint, operation.path, data, headers)
    if answer_is_json(operation, answered.get("Content-Type")):
        return parse_payload(payload, endpoint, "the response")
    return binary(payload, answered)


async def _round_trip(
    http: HttpClient,
    endpoint: Endpoint,
    path: str,
    data: bytes | aiohttp.FormData,
    headers: Mapping[str, str],
) -> tuple[bytes, CIMultiDictProxy[str]]:
    label = endpoint.label
    sent = {**endpoint.json_headers, **headers}
    if not sent.get("Content-Type"):
        sent.pop("Content-Type", None)
    try:
        async with _post(http, endpoint, path, data, sent, endpoint.call_timeout) as response:
            await _check_status(response, endpoint)
            payload = await read_body(response, endpoint.max_response_bytes)
            return payload, response.headers
    except aiohttp.ConnectionTimeoutError:
        raise timed_out(endpoint.connect_seconds, "could not connect", label) from None
    except TimeoutError:
        raise timed_out(endpoint.timeout, "no complete response", label) from None
    except BodyTooLarge:
        raise too_large(endpoint.max_response_bytes, label=label) from None
    except BadEncoding as exc:
        raise malformed(str(exc), label=label) from None
    except _TRANSPORT_ERRORS as exc:
        raise connection_error(exc, label) from None


async def post_stream(
    http: HttpClient,
    endpoint: Endpoint,
    path: str,
    body: JSONObject,
    headers: Mapping[str, str],
) -> AsyncGenerator[ServerSentEvent, None]:
    """POST a JSON body and yield the server-sent events of the streamed answer.

    Connecting, the response headers and the first event share `first_token_timeout`; then each
    gap between two events gets `idle_timeout`. No total limit: a long but lively generation is
    never cut.
    """
    label = endpoint.label
    loop = asyncio.get_running_loop()
    first_deadline = loop.time() + endpoint.first_token_seconds
    sent = {**endpoint.sse_headers, **headers}
    response: aiohttp.ClientResponse | None = None
    try:
        async with asyncio.timeout_at(first_deadline):
            data = orjson.dumps(body)
            response = await _post(http, endpoint, path, data, sent, endpoint.stream_timeout)
            await _check_status(response, endpoint)
    except aiohttp.ConnectionTimeoutError:
        raise timed_out(endpoint.connect_seconds, "could not connect", label) from None
    except TimeoutError:
        _discard(response)
        raise timed_out(endpoint.first_token_seconds, "no response", label) from None
    except _TRANSPORT_ERRORS as exc:
        _discard(response)
        raise connection_error(exc, label) from None
    except BaseException:
        _discard(response)
        raise
    events = decode_events(body_chunks(response, endpoint.max_response_bytes))
    timed = _within_deadlines(events, endpoint, first_deadline)
    finished = False
    try:
        async for event in timed:
            yield event
        finished = True
    except BodyTooLarge:
        raise too_large(endpoint.max_response_bytes, retryable=False, label=label) from None
    except BadEncoding as exc:
        raise malformed(str(exc), retryable=False, label=label) from None
    except _TRANSPORT_ERRORS as exc:
        raise stream_interrupted(_reason(exc), label) from None
    except UnicodeDecodeError:
        raise malformed("a stream event that is not UTF-8", retryable=False, label=label) from None
    finally:
        await close_stream(timed)
        await close_stream(events)
        if finished:
            response.release()
        else:
            # Unread bytes left on the socket: the connection cannot go back to the pool.
            response.close()


async def _within_deadlines(
    events: AsyncIterator[ServerSentEvent], endpoint: Endpoint, first_deadline: float
) -> AsyncIterator[ServerSentEvent]:
    label = endpoint.label
    try:
        async with asyncio.timeout_at(first_deadline):
            first = await anext(events)
    except StopAsyncIteration:
        return
    except TimeoutError:
        # Nothing reached the client yet: another try (or deployment) may do better.
        raise timed_out(endpoint.first_token_seconds, "no data", label) from None
    yield first
    watch = IdleWatch(endpoint.idle_seconds)
    try:
        while True:
            try:
                event = await watch.wait(events)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise stream_timed_out(endpoint.idle_seconds, label) from None
            yield event
    finally:
        watch.close()


def parse_payload(
    data: bytes | str, endpoint: Endpoint, what: str, *, retryable: bool = True
) -> JSONObject:
    """The JSON object `data` holds, or a 502 naming the deployment (`what` says which part)."""
    try:
        return parse_object(data)
    except BadJSON as exc:
        raise malformed(f"{what} is {exc}", retryable=retryable, label=endpoint.label) from None


def parse_event(event: ServerSentEvent, endpoint: Endpoint) -> JSONObject:
    """The JSON object carried by one event (a bad one mid-stream is not worth a retry)."""
    return parse_payload(event.data, endpoint, "a stream event", retryable=False)


def _post(
    http: HttpClient,
    endpoint: Endpoint,
    path: str,
    data: bytes | aiohttp.FormData,
    headers: Mapping[str, str],
    timeout: aiohttp.ClientTimeout,
) -> aiohttp.client._RequestContextManager:
    return http.session.post(
        endpoint.url(path),
        data=data,
        headers=headers,
        timeout=timeout,
        allow_redirects=False,
        auto_decompress=False,
    )


async def _check_status(response: aiohttp.ClientResponse, endpoint: Endpoint) -> None:
    status = response.status
    if 300 <= status < 400:
        raise redirected(status, endpoint.label)
    if status >= 400:
        try:
            payload = await read_body(response, _MAX_ERROR_BYTES)
        except (BodyTooLarge, BadEncoding):
            payload = b""
        raise error_from_response(
            status, payload, response.headers, endpoint.secrets, label=endpoint.label
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientPayloadError | ConnectionResetError):
        return "the connection was reset"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    return type(exc).__name__


def _discard(response: aiohttp.ClientResponse | None) -> None:
    if response is not None:
        response.close()
