"""What travels between Twelve processes on the internal routes: errors and their encoding.

An error a module's port raised travels as the OpenAI error body plus a `twelve` member that keeps
what callers act on (`status`, `kind`, `retryable`, headers). A failing answer without that member
did not come from the module's port (a refused internal key, an unknown route, a proxy's error
page): the caller reports the module as unavailable instead of passing it on to its client.
"""

from __future__ import annotations

from typing import Any

from twelve.kernel.errors import TwelveError, UpstreamError

INTERNAL_KEY_HEADER = "x-twelve-internal-key"
JSON = dict[str, Any]


class ModuleUnavailable(TwelveError):
    status = 503
    type = "service_unavailable"
    code = "module_unavailable"


def to_wire(exc: TwelveError) -> JSON:
    body = exc.body()
    body["twelve"] = {
        "status": exc.status,
        "kind": getattr(exc, "kind", None),
        "retryable": getattr(exc, "retryable", False),
        "headers": exc.headers,
    }
    return body


def is_module_answer(payload: Any) -> bool:
    """Whether an error payload came from a module's port (see the module docstring)."""
    return isinstance(payload, dict) and isinstance(payload.get("twelve"), dict)


def from_wire(payload: JSON, status: int) -> TwelveError:
    error = payload.get("error")
    error = error if isinstance(error, dict) else {}
    extra = payload.get("twelve")
    extra = extra if isinstance(extra, dict) else {}
    message = str(error.get("message") or "A Twelve module failed.")
    headers = extra.get("headers")
    common: dict[str, Any] = {
        "param": _text(error.get("param")),
        "code": _text(error.get("code")),
        "status": _status(extra.get("status"), status),
        "headers": {str(k): str(v) for k, v in headers.items()}
        if isinstance(headers, dict)
        else None,
    }
    if extra.get("kind"):
        return UpstreamError(
            message,
            type_=_text(error.get("type")),
            retryable=bool(extra.get("retryable")),
            kind=str(extra["kind"]),
            **common,
        )
    rebuilt = TwelveError(message, **common)
    rebuilt.type = str(error.get("type") or "server_error")
    return rebuilt


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _status(value: Any, fallback: int) -> int:
    return value if isinstance(value, int) and 400 <= value <= 599 else fallback
