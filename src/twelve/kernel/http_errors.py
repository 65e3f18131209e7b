"""Render every error in the OpenAI shape: ours, FastAPI's validation errors, unknown routes, and
anything unexpected (logged with its traceback, answered without one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from twelve.kernel.errors import InvalidRequest, TwelveError, error_body
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import ERRORS

log = get_logger("twelve.errors")

_HTTP_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def json_error(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def render(exc: TwelveError) -> Response:
    ERRORS.labels(kind=getattr(exc, "kind", None) or exc.type).inc()
    return json_error(exc.status, exc.body(), exc.headers)


def param_of(loc: Sequence[int | str]) -> str | None:
    """`("body", "messages", 0, "role")` → `messages[0].role`."""
    parts = [p for p in loc if p != "body"]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def invalid_request(errors: Sequence[Any]) -> InvalidRequest:
    """One readable message for pydantic errors, naming the first offending field as `param`."""
    first = errors[0] if errors else {}
    param = param_of(first.get("loc", ()))
    message = first.get("msg", "Invalid request.")
    if param:
        message = f"Invalid value for '{param}': {message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return InvalidRequest(message, param=param)


def from_validation_error(exc: ValidationError) -> InvalidRequest:
    return invalid_request(exc.errors(include_url=False, include_input=False))


def install_error_handlers(app: FastAPI) -> None:
    async def on_twelve(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, TwelveError)
        return render(exc)

    async def on_validation(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return render(invalid_request(exc.errors()))

    async def on_http(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        type_ = _HTTP_TYPES.get(exc.status_code, "invalid_request_error")
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404:
            message = "Unknown request URL. Please check the URL and method."
        ERRORS.labels(kind=type_).inc()
        return json_error(exc.status_code, error_body(message, type_), dict(exc.headers or {}))

    async def on_unexpected(_req: Request, exc: Exception) -> Response:
        log.error("unhandled_error", exc_info=exc)
        ERRORS.labels(kind="server_error").inc()
        return json_error(
            500, error_body("The server had an error processing your request.", "server_error")
        )

    app.add_exception_handler(TwelveError, on_twelve)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
