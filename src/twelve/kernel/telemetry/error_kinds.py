"""The fixed vocabulary of `twelve_errors_total{kind}`: every error a client is answered with is
counted under one of `KINDS`, whatever raised it.

Errors carry their kind in different places: an upstream failure in `UpstreamError.kind`, a
refusal of ours in its OpenAI `code` (`rate_limit_exceeded`, `insufficient_quota`) or `type`
(`authentication_error`), anything else only in its status. The order below decides, most
specific first, so a 429 from the upstream and a 429 from our own limiter are both `rate_limit`,
and a label value is always one of a few dozen known strings (never text a peer sent).
"""

from __future__ import annotations

from typing import Final

from twelve.kernel.errors import TwelveError

KINDS: Final = frozenset(
    {
        "rate_limit",
        "context_length",
        "content_filter",
        "timeout",
        "upstream_5xx",
        "upstream_4xx",
        "connection",
        "auth",
        "permission",
        "insufficient_quota",
        "budget",
        "invalid_request",
        "not_found",
        "payload_too_large",
        "client_disconnect",
        "client_gone",
        "server_error",
        "other",
    }
)
# An upstream that refused our credentials is `auth`, as a client's bad key is.
_BY_KIND: Final = {kind: kind for kind in KINDS}
_BY_CODE: Final = {
    "rate_limit_exceeded": "rate_limit",
    "insufficient_quota": "insufficient_quota",
    "budget_exceeded": "budget",
    "context_length_exceeded": "context_length",
    "content_filter": "content_filter",
    "upstream_timeout": "timeout",
}
_BY_TYPE: Final = {
    "rate_limit_error": "rate_limit",
    "insufficient_quota": "insufficient_quota",
    "authentication_error": "auth",
    "permission_error": "permission",
    "timeout_error": "timeout",
    "server_error": "server_error",
    "client_closed_request": "client_gone",
}
_BY_STATUS: Final = {
    400: "invalid_request",
    401: "auth",
    402: "insufficient_quota",
    403: "permission",
    404: "not_found",
    405: "invalid_request",
    408: "timeout",
    409: "invalid_request",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limit",
    499: "client_gone",
    504: "timeout",
}


def error_kind(
    *, kind: str | None = None, code: str | None = None, type_: str | None = None, status: int = 500
) -> str:
    """The one label value for an error described by any of its kind, code, type and status."""
    # The code first: an upstream's 429 `insufficient_quota` is an empty account, not a limit.
    for table, key in ((_BY_CODE, code), (_BY_KIND, kind), (_BY_TYPE, type_)):
        if key is not None:
            found = table.get(key)
            if found is not None:
                return found
    if status >= 500:
        return "server_error" if status == 500 else "upstream_5xx"
    return _BY_STATUS.get(status, "other")


def kind_of(exc: TwelveError) -> str:
    return error_kind(
        kind=getattr(exc, "kind", None), code=exc.code, type_=exc.type, status=exc.status
    )
