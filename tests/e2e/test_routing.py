"""Retries and fallbacks as a client sees them: the answer, and which deployment gave it after how
many attempts (`x-twelve-*` headers), checked against what the upstream actually received.

These count attempts exactly, and routing remembers (breakers, retry budgets): so they have a
server and an upstream of their own, whose memory holds only what these tests did.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server import TwelveServer
from tests.e2e.stack import UPSTREAM_KEY, config_yaml, server_env
from tests.e2e.wire import sse_chunks
from tests.fakes.upstream import FakeUpstream

HELLO = [{"role": "user", "content": "route me"}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def api(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("routing-e2e")
    (root / "twelve.yaml").write_text(config_yaml(upstream.base_url), encoding="utf-8")
    admin_key = "twadmin-routing-" + secrets.token_urlsafe(16)
    env = server_env(root / "twelve.yaml", root / "data") | {"TWELVE_ADMIN_KEY": admin_key}
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    try:
        admin = httpx.Client(
            base_url=f"{server.base_url}/admin/v1",
            headers={"Authorization": f"Bearer {admin_key}"},
        )
        with admin:
            customer = admin.post("/customers", json={"name": "routing-e2e"})
            assert customer.status_code == 201, customer.text
            issued = admin.post("/keys", json={"customer_id": customer.json()["id"], "name": "r"})
            assert issued.status_code == 201, issued.text
        headers = {"Authorization": f"Bearer {issued.json()['key']}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
            yield client
    finally:
        server.stop()


def calls_to(upstream: FakeUpstream, upstream_model: str) -> int:
    return sum(1 for r in upstream.requests if (r.json or {}).get("model") == upstream_model)


def test_failing_deployment_is_retried_then_falls_back(
    api: httpx.Client, upstream: FakeUpstream
) -> None:
    failed_before, backup_before = calls_to(upstream, "fail-500"), calls_to(upstream, "echo-backup")
    response = api.post("/v1/chat/completions", json={"model": "fallback", "messages": HELLO})
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "fallback"
    assert response.json()["choices"][0]["message"]["content"] == "echo: route me"
    assert response.headers["x-twelve-deployment"] == "fallback/openai/echo-backup"
    assert response.headers["x-twelve-provider"] == "openai"
    # TWELVE_GATEWAY_RETRIES=1: two tries on the failing deployment, then one on the next.
    assert response.headers["x-twelve-attempts"] == "3"
    assert calls_to(upstream, "fail-500") - failed_before == 2
    assert calls_to(upstream, "echo-backup") - backup_before == 1
    assert response.headers["x-twelve-deployment"]  # its id's format is the models module's


def test_stream_falls_back_before_the_first_byte(api: httpx.Client) -> None:
    body = {"model": "fallback", "messages": HELLO, "stream": True}
    with api.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["x-twelve-deployment"] == "fallback/openai/echo-backup"
        assert response.headers["x-twelve-attempts"] == "3"
        chunks = sse_chunks(response)
    assert (
        "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "echo: route me"
    )


def test_flaky_deployment_succeeds_on_retry(api: httpx.Client, upstream: FakeUpstream) -> None:
    response = api.post("/v1/chat/completions", json={"model": "flaky", "messages": HELLO})
    assert response.status_code == 200, response.text
    assert response.headers["x-twelve-deployment"] == "flaky/openai/flaky-1"
    assert response.headers["x-twelve-attempts"] == "2"
    assert calls_to(upstream, "flaky-1") == 2


def test_a_failed_request_carries_the_routing_headers_and_names_its_deployment(
    api: httpx.Client, upstream: FakeUpstream
) -> None:
    response = api.post("/v1/chat/completions", json={"model": "broken", "messages": HELLO})
    assert response.status_code == 502, response.text
    deployment = response.headers["x-twelve-deployment"]
    assert response.headers["x-twelve-model"] == "broken"
    assert response.headers["x-twelve-provider"] == "openai"
    assert response.headers["x-twelve-attempts"] == "2"  # TWELVE_GATEWAY_RETRIES=1
    message = response.json()["error"]["message"]
    assert f"`{deployment}`" in message and "HTTP 500" in message
    assert message.count(deployment) == 1, message  # named once, not by every layer
    assert upstream.base_url not in message and "127.0.0.1" not in message


def test_a_timed_out_request_carries_the_routing_headers(api: httpx.Client) -> None:
    response = api.post("/v1/chat/completions", json={"model": "slow", "messages": HELLO})
    assert response.status_code == 504, response.text
    assert response.headers["x-twelve-model"] == "slow"
    assert response.headers["x-twelve-attempts"] == "2"
    assert "timed out" in response.json()["error"]["message"]
