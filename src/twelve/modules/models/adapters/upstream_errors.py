"""Upstream failures as `UpstreamError`s: the status, OpenAI error type, kind and retryability.

Both protocols share this mapping. Messages name the deployment (by id, never by URL) and the
cause; the upstream's own words are kept where it gave some in JSON, with every configured secret
and every URL redacted and stack traces dropped: an upstream's HTML error page or a Python
traceback from a local server never reaches a client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from twelve.kernel.errors import UpstreamError, UpstreamTimeout

MAX_MESSAGE_CHARS = 500
# How a message names the upstream when no deployment is known (tests, direct adapter use).
ANONYMOUS = "The deployment"

_URL = re.compile(r"(?i)\b(?:https?|wss?)://[^\s\"'<>)\]]+")

_KEY_LIKE = re.compile(r"\b(?:sk|gsk|xai|pk)[-_][A-Za-z0-9_\-*.]{4,}")
_BEARER = re.compile(r"(?i)\bbearer\s+\S+")
_CONTEXT_LENGTH = re.compile(
    r"context.length|context window|prompt is too long|too many tokens|maximum.{0,20}tokens"
    r"|input is too long|exceeds the (?:model's )?(?:maximum|context)",
    re.IGNORECASE,
)
_CONTENT_FILTER = re.compile(
    r"content.(?:management|filter|policy)|content filtering|flagged as|safety system",
    re.IGNORECASE,
)
_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation"})

# status -> (status we return, OpenAI error type, kind)
_CLIENT_ERRORS: Mapping[int, tuple[int, str, str]] = {
    400: (400, "invalid_request_error", "upstream_4xx"),
    401: (401, "authentication_error", "auth"),
    403: (403, "permission_error", "auth"),
    404: (404, "invalid_request_error", "upstream_4xx"),
    413: (413, "invalid_request_error", "upstream_4xx"),
    # An upstream's validation error is the client's bad request; OpenAI itself never sends 422.
    422: (400, "invalid_request_error", "upstream_4xx"),
}


def error_from_response(
    status: int,
    payload: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str] = (),
    *,
    label: str = ANONYMOUS,
) -> UpstreamError:
    """The error for an upstream HTTP response with status >= 400."""
    detail, code, param = _detail(payload)
    message = sanitize(detail, secrets) if detail else ""
    if status == 408:
        return UpstreamTimeout(f"{label}: timed out (the upstream answered HTTP 408).")
    if status >= 500:
        suffix = f": {message}" if message else "."
        return UpstreamError(
            f"{label}: the upstream failed (HTTP {status}){suffix}",
            retryable=True,
            kind="upstream_5xx",
        )
    message = message or f"The upstream provider rejected the request (HTTP {status})."
    if status in (400, 413, 422):
        if code in _CONTEXT_CODES or _CONTEXT_LENGTH.search(message):
            return UpstreamError(
                message,
                status=400,
                type_="invalid_request_error",
                param=param or "messages",
                code="context_length_exceeded",
                kind="context_length",
            )
        if code in _FILTER_CODES or _CONTENT_FILTER.search(message):
            return UpstreamError(
                message,
                status=400,
                type_="invalid_request_error",
                param=param,
                code="content_filter",
                kind="content_filter",
            )
    if status == 429:
        retry_after = headers.get("Retry-After")
        return UpstreamError(
            message,
            status=429,
            type_="rate_limit_error",
            param=param,
            code=code or "rate_limit_exceeded",
            # Retrying cannot refill an exhausted upstream account.
            retryable=code != "insufficient_quota",
            kind="rate_limit",
            headers={"Retry-After": retry_after} if retry_after else None,
        )
    default = (status, "invalid_request_error", "upstream_4xx")
    returned, type_, kind = _CLIENT_ERRORS.get(status, default)
    return UpstreamError(message, status=returned, type_=type_, param=param, code=code, kind=kind)


def redirected(status: int, label: str = ANONYMOUS) -> UpstreamError:
    """A 3xx: never followed, so credentials never reach wherever it points."""
    return UpstreamError(
        f"{label}: the upstream answered with a redirect (HTTP {status}), which is never "
        "followed; check the deployment's base_url.",
        kind="upstream_5xx",  # another deployment may be configured right: fall back
    )


def connection_error(exc: BaseException, label: str = ANONYMOUS) -> UpstreamError:
    """The upstream could not be reached (refused, reset, DNS, TLS) before any response."""
    return UpstreamError(
        f"{label}: could not connect: {connection_cause(exc)}.",
        retryable=True,
        kind="connection",
    )


def connection_cause(exc: BaseException) -> str:
    """What went wrong, in words that carry no host, address or URL."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(os_error, OSError) and os_error.errno in (-2, -3, -5):
            return "host name not resolved"
        return "connection failed"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, ConnectionResetError | aiohttp.ClientOSError):
        return "connection reset"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the response body was malformed"
    return f"transport error ({type(exc).__name__})"


def timed_out(seconds: float, what: str, label: str = ANONYMOUS) -> UpstreamTimeout:
    """No answer in time, before anything reached the client: retryable."""
    return UpstreamTimeout(f"{label}: timed out: {what} within {seconds:g} s.")


def stream_interrupted(reason: str, label: str = ANONYMOUS) -> UpstreamError:
    """A stream broke after it started: never retryable, the client has seen part of it."""
    return UpstreamError(f"{label}: the stream was interrupted: {reason}.", kind="connection")


def stream_timed_out(seconds: float | None = None, label: str = ANONYMOUS) -> UpstreamError:
    gap = f" for {seconds:g} s" if seconds is not None else ""
    return UpstreamError(
        f"{label}: timed out: the upstream sent no data{gap} in the middle of a stream.",
        status=504,
        type_="timeout_error",
        code="upstream_timeout",
        kind="timeout",
    )


def error_in_stream(
    payload: Any, secrets: Sequence[str] = (), label: str = ANONYMOUS
) -> UpstreamError:
    """An error event an upstream sent inside a stream (Anthropic `error`, OpenAI `{"error":…}`)."""
    detail, _, _ = _detail_from_json(payload)
    message = sanitize(detail, secrets) if detail else "unknown error"
    return UpstreamError(f"{label}: the upstream reported an error mid-stream: {message}")


def invalid_payload(what: str, *, retryable: bool = True, label: str = ANONYMOUS) -> UpstreamError:
    """The upstream answered with something that is not the JSON object it should have sent."""
    return UpstreamError(
        f"{label}: the upstream sent {what} that is not a valid JSON object.",
        retryable=retryable,
        kind="upstream_5xx",
    )


def malformed(what: str, *, retryable: bool = True, label: str = ANONYMOUS) -> UpstreamError:
    """The upstream's JSON is not the shape the protocol promises (`what` says where)."""
    return UpstreamError(
        f"{label}: the upstream sent a malformed response: {what}.",
        retryable=retryable,
        kind="upstream_5xx",
    )


def too_large(limit: int, *, retryable: bool = True, label: str = ANONYMOUS) -> UpstreamError:
    return UpstreamError(
        f"{label}: the upstream response is larger than the {limit} bytes allowed "
        "(max_response_bytes).",
        retryable=retryable,
        kind="upstream_5xx",
    )


def sanitize(message: str, secrets: Sequence[str] = ()) -> str:
    """The message without credentials or stack traces, cut to a readable length."""
    if "Traceback (most recent call last)" in message or "\n  File " in message:
        return "The upstream provider reported an internal error."
    for secret in secrets:
        # Shorter values are not secrets worth hiding and would mangle ordinary words.
        if len(secret) >= 4:
            message = message.replace(secret, "[redacted]")
    message = _URL.sub("[url]", message)
    message = _BEARER.sub("Bearer [redacted]", message)
    message = _KEY_LIKE.sub("[redacted]", message)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return message.strip()


def _detail(payload: bytes) -> tuple[str, str | None, str | None]:
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        # Not JSON (an HTML error page, a proxy's text): its text is not safe to show.
        return "", None, None
    return _detail_from_json(parsed)


def _detail_from_json(parsed: Any) -> tuple[str, str | None, str | None]:
    """(message, code, param) from the error shapes upstreams use.

    OpenAI and Anthropic: `{"error": {"message", "type", "code"?, "param"?}}`; Ollama:
    `{"error": "…"}`; vLLM: `{"object": "error", "message", …}`; FastAPI: `{"detail": …}`.
    """
    if not isinstance(parsed, dict):
        return "", None, None
    error = parsed.get("error", parsed)
    if isinstance(error, str):
        return error, None, None
    if not isinstance(error, dict):
        return "", None, None
    message = error.get("message")
    if not isinstance(message, str):
        message = _fastapi_detail(error.get("detail"))
    code = error.get("code")
    param = error.get("param")
    return (
        message,
        code if isinstance(code, str) else None,
        param if isinstance(param, str) else None,
    )


def _fastapi_detail(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = [item.get("msg") for item in detail if isinstance(item, dict)]
        return "; ".join(part for part in parts if isinstance(part, str))
    return ""
