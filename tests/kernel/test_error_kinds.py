"""Every error is counted under one kind of a fixed set, whichever field carries it."""

from __future__ import annotations

import pytest

from twelve.kernel.errors import (
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    TwelveError,
    UpstreamError,
    UpstreamTimeout,
)
from twelve.kernel.telemetry.error_kinds import KINDS, error_kind, kind_of


class _Refused(TwelveError):
    status = 402
    type = "insufficient_quota"
    code = "insufficient_quota"


class _Limited(TwelveError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (AuthenticationFailed("bad key"), "auth"),
        (PermissionDenied("not yours"), "permission"),
        (InvalidRequest("bad body"), "invalid_request"),
        (NotFound("no such model"), "not_found"),
        (PayloadTooLarge("too big"), "payload_too_large"),
        (_Refused("no credits"), "insufficient_quota"),
        (_Limited("slow down"), "rate_limit"),
        (UpstreamTimeout(), "timeout"),
        (UpstreamError("500 upstream"), "upstream_5xx"),
        (UpstreamError("refused", status=400, kind="upstream_4xx"), "upstream_4xx"),
        (UpstreamError("too long", status=400, kind="context_length"), "context_length"),
        (UpstreamError("filtered", status=400, kind="content_filter"), "content_filter"),
        (UpstreamError("429", status=429, kind="rate_limit"), "rate_limit"),
        (UpstreamError("bad upstream key", status=502, kind="auth"), "auth"),
        (UpstreamError("down", kind="connection"), "connection"),
        # An upstream account out of money is not a rate limit, though it comes as a 429.
        (
            UpstreamError("empty", status=429, code="insufficient_quota", kind="rate_limit"),
            "insufficient_quota",
        ),
        (TwelveError("ours"), "server_error"),
    ],
)
def test_each_error_has_its_kind(error: TwelveError, kind: str) -> None:
    assert kind_of(error) == kind


def test_unknown_words_from_a_peer_never_become_a_kind() -> None:
    made_up = error_kind(kind="x" * 50, code="made-up", type_="whatever_error", status=418)
    assert made_up == "other"
    assert error_kind(kind="made-up", status=503) == "upstream_5xx"
    statuses = {error_kind(status=status) for status in range(100, 600)}
    assert statuses <= KINDS
