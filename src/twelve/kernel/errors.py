"""Errors in the OpenAI error shape.

Every error that leaves Twelve is `{"error": {"message", "type", "param", "code"}}` with the
status that matches it. Modules raise these; the HTTP edge renders them (see `error_responses`).
"""

from __future__ import annotations

from typing import Any


class TwelveError(Exception):
    """An error a client is allowed to see, with its HTTP status and OpenAI error type."""

    status: int = 500
    type: str = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.param, self.code)


def error_body(
    message: str, type_: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class InvalidRequest(TwelveError):
    status = 400
    type = "invalid_request_error"


class AuthenticationFailed(TwelveError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(TwelveError):
    status = 403
    type = "permission_error"
    code = "model_not_allowed"


class NotFound(TwelveError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class Conflict(TwelveError):
    status = 409
    type = "invalid_request_error"
    code = "conflict"


class PayloadTooLarge(TwelveError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class UnsupportedMediaType(TwelveError):
    status = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"


class UpstreamError(TwelveError):
    """An upstream provider failed. `retryable` says whether another try may succeed.

    `kind` is the error type counted in metrics: upstream_5xx, upstream_4xx, timeout, connection,
    rate_limit, context_length, content_filter, auth.
    """

    status = 502
    type = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        status: int = 502,
        type_: str | None = None,
        param: str | None = None,
        code: str | None = None,
        retryable: bool = False,
        kind: str = "upstream_5xx",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, param=param, status=status, headers=headers)
        # The upstream's own code, or none: a passed-through error keeps OpenAI's `code: null`.
        self.code = code
        if type_ is not None:
            self.type = type_
        self.retryable = retryable
        self.kind = kind


class UpstreamTimeout(UpstreamError):
    def __init__(self, message: str = "The upstream provider timed out.") -> None:
        super().__init__(
            message,
            status=504,
            type_="timeout_error",
            code="upstream_timeout",
            retryable=True,
            kind="timeout",
        )


class DatabaseUnavailable(TwelveError):
    """A database server that refused a connection (down, or out of connections): the client
    may try again."""

    status = 503
    type = "server_error"
    code = "database_unavailable"
    state = "unavailable"

    def __init__(self, database: str) -> None:
        super().__init__(
            f"The {database} store is {self.state}; please retry shortly.",
            headers={"Retry-After": "1"},
        )


class DatabaseBusy(DatabaseUnavailable):
    """A write that could not get its database's lock in time."""

    code = "database_busy"
    state = "busy"
