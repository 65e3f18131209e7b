"""Breakers and model fallbacks as a client of `twelve serve` sees them, in front of a fake
upstream whose primary the test breaks and heals (its own server: the breakers' memory must not
leak into the other end-to-end tests, nor theirs into these)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server import TwelveServer
from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_switch import Switchboard, switch_app

HELLO = [{"role": "user", "content": "route me"}]
LONG = " ".join(["word"] * 200)


def config(url: str) -> str:
    def dep(model: str) -> str:
        return (
            f"{{provider: openai, name: {model}, base_url: '{url}/v1', api_key: sk-x, "
            f"model: {model}}}"
        )

    return f"""
models:
  - name: resilient
    breaker: {{base_ejection_seconds: 1}}
    deployments: [{dep("e2e-primary")}, {dep("e2e-secondary")}]
  - name: premium
    fallbacks: [budget]
    deployments: [{dep("e2e-premium")}]
  - name: budget
    deployments: [{dep("e2e-budget")}]
  - name: small
    context_window: 100
    context_window_fallbacks: [large]
    deployments: [{dep("e2e-small")}]
  - name: large
    deployments: [{dep("e2e-large")}]
  - name: strict
    content_filter_fallbacks: [lenient]
    deployments: [{dep("e2e-strict")}]
  - name: lenient
    deployments: [{dep("e2e-lenient")}]
"""


@pytest.fixture(scope="module")
def board() -> Switchboard:
    board = Switchboard()
    board.set("e2e-premium", "fail")
    board.set("e2e-strict", "filter")
    return board


@pytest.fixture(scope="module")
def routed_api(
    board: Switchboard, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("routing")
    admin_key = "twadmin-routing-" + secrets.token_urlsafe(16)
    with FakeUpstream(app=switch_app(board)) as upstream:
        (root / "twelve.yaml").write_text(config(upstream.base_url), encoding="utf-8")
        env = {
            "TWELVE_CONFIG": str(root / "twelve.yaml"),
            "TWELVE_DATA_DIR": str(root / "data"),
            "TWELVE_ADMIN_KEY": admin_key,
            "TWELVE_GATEWAY_RETRY_BACKOFF_SECONDS": "0.01",
        }
        server = TwelveServer(env, root / "stderr.log")
        server.start()
        try:
            admin = {"Authorization": f"Bearer {admin_key}"}
            base = f"{server.base_url}/admin/v1"
            customer = httpx.post(f"{base}/customers", json={"name": "routing"}, headers=admin)
            assert customer.status_code == 201, customer.text
            body = {"customer_id": customer.json()["id"], "name": "routing"}
            issued = httpx.post(f"{base}/keys", json=body, headers=admin)
            assert issued.status_code == 201, issued.text
            headers = {"Authorization": f"Bearer {issued.json()['key']}"}
            with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
                yield client
        finally:
            server.stop()


def ask(api: httpx.Client, model: str, content: str = "route me") -> httpx.Response:
    messages = [{"role": "user", "content": content}]
    return api.post("/v1/chat/completions", json={"model": model, "messages": messages})


def test_a_failing_primary_is_ejected_probed_and_restored(
    routed_api: httpx.Client, board: Switchboard
) -> None:
    board.set("e2e-primary", "fail")
    replies = [ask(routed_api, "resilient") for _ in range(20)]
    assert [r.status_code for r in replies] == [200] * 20
    assert {r.headers["x-twelve-deployment"] for r in replies} == {"e2e-secondary"}
    assert board.calls["e2e-primary"] == 5  # then ejected: not one call more
    assert [r.headers["x-twelve-attempts"] for r in replies[:4]] == ["3", "3", "2", "1"]

    board.set("e2e-primary", "ok")
    time.sleep(1.1)  # the ejection ends: the next request is the probe, and it succeeds
    healed = [ask(routed_api, "resilient") for _ in range(5)]
    assert {r.headers["x-twelve-deployment"] for r in healed} == {"e2e-primary"}
    metrics = routed_api.get("/metrics").text
    assert 'twelve_breaker_state{deployment="e2e-primary"} 0.0' in metrics
    assert 'twelve_breaker_transitions_total{deployment="e2e-primary",state="open"} 1.0' in metrics


def test_a_model_whose_deployments_fail_falls_back_to_the_cheaper_one(
    routed_api: httpx.Client,
) -> None:
    reply = ask(routed_api, "premium")
    assert reply.status_code == 200, reply.text
    assert reply.json()["model"] == "premium"
    assert reply.headers["x-twelve-model"] == "budget"
    assert reply.headers["x-twelve-deployment"] == "e2e-budget"
    assert reply.headers["x-twelve-attempts"] == "3"


def test_a_prompt_too_long_for_the_window_goes_to_the_larger_model(
    routed_api: httpx.Client, board: Switchboard
) -> None:
    assert ask(routed_api, "small").headers["x-twelve-deployment"] == "e2e-small"
    long = ask(routed_api, "small", LONG)
    assert long.status_code == 200 and long.headers["x-twelve-deployment"] == "e2e-large"
    assert board.calls["e2e-small"] == 1


def test_filtered_content_goes_to_the_content_filter_fallback(routed_api: httpx.Client) -> None:
    reply = ask(routed_api, "strict")
    assert reply.status_code == 200 and reply.headers["x-twelve-deployment"] == "e2e-lenient"
    assert reply.headers["x-twelve-attempts"] == "2"
    metrics = routed_api.get("/metrics").text
    fallbacks = [line for line in metrics.splitlines() if "model_fallbacks_total{" in line]
    assert sorted(fallbacks) == [  # each kind once, as the tests above took them
        'twelve_model_fallbacks_total{kind="content_filter",model="strict",to="lenient"} 1.0',
        'twelve_model_fallbacks_total{kind="context_window",model="small",to="large"} 1.0',
        'twelve_model_fallbacks_total{kind="failure",model="premium",to="budget"} 1.0',
    ]
