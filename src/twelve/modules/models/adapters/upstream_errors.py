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


def error_in_stream(
    payload: Any, secrets: Sequence[str] = (), label: str = ANONYMOUS
) -> UpstreamError:
    """An error event an upstream sent inside a stream (Anthropic `error`, OpenAI `{"error":…}`)."""
    detail, _, _ = _detail_from_json(payload)
    message = sanitize(detail, secrets) if detail else "unknown error"
    return UpstreamError(f"{label}: the upstream reported an error mid-stream: {message}")


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
