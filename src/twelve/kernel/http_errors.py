"""Render every error in the OpenAI shape: ours, FastAPI's validation errors, unknown routes, and
anything unexpected (logged with its traceback, answered without one; the edge middleware does
that first, with the request's ids, and this handler is the fallback behind it)."""

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
from twelve.kernel.telemetry.error_kinds import error_kind, kind_of
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import ERRORS
from twelve.kernel.unbuilt_routes import not_found_message

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
    ERRORS.labels(kind=kind_of(exc)).inc()
    return json_error(exc.status, exc.body(), exc.headers)


def server_error() -> Response:
    """The 500 a client sees for a failure of ours: no detail, no traceback."""
    ERRORS.labels(kind="server_error").inc()
    return json_error(
        500, error_body("The server had an error processing your request.", "server_error")
    )


def param_of(loc: Sequence[int | str], data: Any = None, *, missing: bool = False) -> str | None:
    """The OpenAI `param` for a pydantic error location: `messages[0].role`.

    With the request `data`, the location is walked through it so that pydantic's union-branch
    tags (`content.str`, `prompt.list[int]`) are dropped: a part that names nothing in the data is
    skipped, unless it is the last one and the error is a missing field.
    """
    parts = [p for p in loc if p != "body"] if loc and loc[0] == "body" else list(loc)
    names: list[int | str] = []
    node = data
    for position, part in enumerate(parts):
        if data is None:
            names.append(part)
        elif _holds(node, part):
            names.append(part)
            node = node[part]
        elif missing and position == len(parts) - 1 and isinstance(node, dict):
            names.append(part)
    out = ""
    for name in names:
        out += f"[{name}]" if isinstance(name, int) else (f".{name}" if out else str(name))
    return out or None


def _holds(node: Any, part: int | str) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def invalid_request(errors: Sequence[Any], data: Any = None) -> InvalidRequest:
    """One readable message for pydantic errors, naming the offending field as `param`.

    Of a union's failed branches, the one that reached deepest into the data names the field:
    `content: [5]` is about `messages[0].content[0]`, not about `content` not being a string.
    """
    if not errors:
        return InvalidRequest("Invalid request.")
    params = [param_of(e["loc"], data, missing=e["type"] == "missing") for e in errors]
    chosen = max(range(len(errors)), key=lambda i: (_depth(params[i]), -i))
    param, first = params[chosen], errors[chosen]
    message = first["msg"] if first["type"] != "missing" else "This field is required."
    if param:
        message = f"Invalid value for '{param}': {message}"
    # Other branches of the same union name a prefix of the chosen field: not other problems.
    others = {p for p in params if not (param or "").startswith(p or "")}
    if others:
        n = len(others)
        message += f" (and {n} more problem{'s' if n > 1 else ''})"
    return InvalidRequest(message, param=param)


def _depth(param: str | None) -> int:
    if not param:
        return 0
    return 1 + param.count(".") + param.count("[")


def from_validation_error(exc: ValidationError, data: Any = None) -> InvalidRequest:
    return invalid_request(exc.errors(include_url=False, include_input=False), data)


def install_error_handlers(app: FastAPI) -> None:
    async def on_twelve(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, TwelveError)
        return render(exc)

    async def on_validation(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        if errors and errors[0].get("type") == "json_invalid":
            return render(InvalidRequest("We could not parse the JSON body of your request."))
        from_body = bool(errors) and tuple(errors[0]["loc"][:1]) == ("body",)
        return render(invalid_request(errors, exc.body if from_body else None))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        type_ = _HTTP_TYPES.get(exc.status_code, "invalid_request_error")
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        code = None
        if exc.status_code == 404:
            message, code = not_found_message(request.url.path)
        ERRORS.labels(kind=error_kind(type_=type_, status=exc.status_code)).inc()
        return json_error(
            exc.status_code, error_body(message, type_, code=code), dict(exc.headers or {})
        )

    async def on_unexpected(_req: Request, exc: Exception) -> Response:
        log.error("unhandled_error", exc_info=exc)
        return server_error()

    app.add_exception_handler(TwelveError, on_twelve)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
