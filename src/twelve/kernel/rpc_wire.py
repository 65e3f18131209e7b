"""What travels between Twelve processes on the internal routes: errors, deadlines, and keys.

A call carries the caller's remaining time (`x-twelve-deadline`, in seconds, relative so the two
clocks need not agree); the serving side runs the call within it and makes it the deadline of the
calls it makes in turn (`remaining()`), so one request's deadline bounds every hop. A command
carries an `idempotency-key`, so that a retry after a lost answer gets the first answer back.

An error a module's port raised travels as the OpenAI error body plus a `twelve` member that keeps
what callers act on (`status`, `kind`, `retryable`, headers). A failing answer without that member
did not come from the module's port (a refused internal key, an unknown route, a proxy's error
page): the caller reports the module as unavailable instead of passing it on to its client.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from twelve.kernel.errors import InvalidRequest, TwelveError, UpstreamError

INTERNAL_KEY_HEADER = "x-twelve-internal-key"
DEADLINE_HEADER = "x-twelve-deadline"
IDEMPOTENCY_HEADER = "idempotency-key"
JSON = dict[str, Any]
# Bounds on what a peer may send: a deadline past an hour or a key past 200 characters is refused.
MAX_DEADLINE_SECONDS = 3600.0
MAX_IDEMPOTENCY_KEY = 200

# The monotonic instant by which the current request must be answered, when one is known.
_deadline: ContextVar[float | None] = ContextVar("twelve_rpc_deadline", default=None)


def remaining() -> float | None:
    """Seconds left to the current request's deadline (never negative), or None without one."""
    at = _deadline.get()
    return None if at is None else max(0.0, at - time.monotonic())


@contextmanager
def deadline_within(seconds: float | None) -> Iterator[None]:
    """Run the block under a deadline `seconds` from now (or the current one, if sooner)."""
    if seconds is None:
        yield
        return
    at = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(at if current is None else min(at, current))
    try:
        yield
    finally:
        _deadline.reset(token)


def read_deadline(value: str | None) -> float | None:
    """The seconds a caller gave a call (`x-twelve-deadline`); a malformed value is a 400."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= MAX_DEADLINE_SECONDS:  # also refuses nan and inf
        raise InvalidRequest(
            f"{DEADLINE_HEADER} must be a number of seconds in (0, {MAX_DEADLINE_SECONDS:g}].",
            param=DEADLINE_HEADER,
        )
    return seconds


def read_idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not 0 < len(value) <= MAX_IDEMPOTENCY_KEY or not value.isprintable():
        raise InvalidRequest(
            f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters.",
            param=IDEMPOTENCY_HEADER,
        )
    return value


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
