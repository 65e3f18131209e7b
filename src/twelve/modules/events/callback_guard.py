"""Where a webhook may go: public http(s) addresses only, unless the operator allows a network.

The guard itself (checked when given, and again on every resolved address when sent) is the
kernel's `url_guard`, shared with the images module's URL fetch; here it names `callback_url`.
"""

from __future__ import annotations

from collections.abc import Sequence

from yarl import URL

from twelve.kernel.url_guard import (
    ForbiddenAddress,
    GuardedResolver,
    Network,
    allowed,
)
from twelve.kernel.url_guard import check_url as check_any_url

__all__ = ["ForbiddenAddress", "GuardedResolver", "allowed", "check_url", "describe"]


def check_url(raw: str, networks: Sequence[Network]) -> URL:
    """The callback URL, or a 400 naming `callback_url` that says what is wrong with it."""
    return check_any_url(raw, networks, "callback_url")


def describe(exc: BaseException) -> str:
    """A short reason for an attempt that failed before any answer, for the delivery's record."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ForbiddenAddress):
            return "refused: the callback resolves to an address callbacks may not reach"
        cause = cause.__cause__ or cause.__context__ or getattr(cause, "os_error", None)
        if cause is exc:
            break
    if isinstance(exc, TimeoutError):
        return "timeout: the receiver did not answer in time"
    return f"{type(exc).__name__}: {exc}"[:300]
