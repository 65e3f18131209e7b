from __future__ import annotations

import socket

import pytest

from twelve.kernel.errors import NotFound, TwelveError, UpstreamError, UpstreamTimeout
from twelve.kernel.http_client import HttpClient
from twelve.kernel.rpc import ModuleUnavailable, RpcClient, from_wire, to_wire


def test_an_upstream_error_keeps_what_routing_acts_on() -> None:
    sent = UpstreamError(
        "slow down", status=429, type_="rate_limit_error", code="rate_limit_exceeded",
        retryable=True, kind="rate_limit", headers={"Retry-After": "2"},
    )  # fmt: skip
    back = from_wire(to_wire(sent), 500)
    assert isinstance(back, UpstreamError)
    assert (back.status, back.type, back.code, back.retryable, back.kind, back.headers) == (
        429, "rate_limit_error", "rate_limit_exceeded", True, "rate_limit", {"Retry-After": "2"},
    )  # fmt: skip
    assert back.body() == sent.body()


@pytest.mark.parametrize(
    "sent",
    [NotFound("no such model", param="model", code="model_not_found"), UpstreamTimeout()],
)
def test_errors_come_back_with_the_same_openai_body(sent: TwelveError) -> None:
    back = from_wire(to_wire(sent), 500)
    assert back.status == sent.status
    assert back.body() == sent.body()


def test_a_body_that_is_not_ours_is_still_an_error() -> None:
    back = from_wire({}, 502)
    assert back.status == 502 and back.message


async def test_an_unreachable_module_is_503(http: HttpClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RpcClient("models", f"http://127.0.0.1:{port}", "key", http)
    with pytest.raises(ModuleUnavailable) as raised:
        await client.call("list_models", {})
    assert raised.value.status == 503 and "models" in raised.value.message
