"""Active health checks as a client of `twelve serve` sees them (the official OpenAI SDK) and an
operator reads them (`GET /admin/v1/models`): the primary upstream goes down, its health check
marks it, traffic moves to the secondary without one failed client request, the primary heals and
traffic returns. Each upstream is a server of its own, so its health path goes down with it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.server import TwelveServer
from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_switch import Switchboard, switch_app

HELLO: list[Any] = [{"role": "user", "content": "check me"}]


def config(primary: str, secondary: str) -> str:
    def dep(name: str, url: str, priority: int) -> str:
        return (
            f"{{provider: openai, name: {name}, base_url: '{url}/v1', api_key: sk-x, "
            f"model: {name}, priority: {priority}, weight: 2}}"
        )

    return f"""
models:
  - name: checked
    fallbacks: [spare]
    health_check: {{interval_seconds: 1, timeout_seconds: 0.5, unhealthy_threshold: 1}}
    breaker: {{base_ejection_seconds: 1}}
    deployments: [{dep("hc-primary", primary, 0)}, {dep("hc-secondary", secondary, 1)}]
  - name: spare
    health_check: {{enabled: false}}
    deployments: [{dep("hc-spare", secondary, 0)}]
"""


@dataclass
class Stack:
    server: TwelveServer
    client: openai.OpenAI
    admin: httpx.Client
    primary: Switchboard
    secondary: Switchboard
    key: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("health")
    admin_key = "twadmin-health-" + secrets.token_urlsafe(16)
    primary, secondary = Switchboard(), Switchboard()
    with (
        FakeUpstream(app=switch_app(primary)) as first,
        FakeUpstream(app=switch_app(secondary)) as second,
    ):
        (root / "twelve.yaml").write_text(config(first.base_url, second.base_url), "utf-8")
        env = {
            "TWELVE_CONFIG": str(root / "twelve.yaml"),
            "TWELVE_DATA_DIR": str(root / "data"),
            "TWELVE_ADMIN_KEY": admin_key,
            "TWELVE_GATEWAY_RETRY_BACKOFF_SECONDS": "0.01",
            "TWELVE_GATEWAY_HEALTH_POLL_SECONDS": "0.2",
        }
        server = TwelveServer(env, root / "stderr.log")
        server.start()
        try:
            headers = {"Authorization": f"Bearer {admin_key}"}
            with httpx.Client(
                base_url=f"{server.base_url}/admin/v1", headers=headers, timeout=10
            ) as admin:
                customer = admin.post("/customers", json={"name": "health", "credits": 100})
                assert customer.status_code == 201, customer.text
                issued = admin.post("/keys", json={"customer_id": "health", "name": "hc"})
                assert issued.status_code == 201, issued.text
                key = issued.json()["key"]
                client = openai.OpenAI(
                    base_url=f"{server.base_url}/v1", api_key=key, max_retries=0, timeout=10
                )
                yield Stack(server, client, admin, primary, secondary, key)
        finally:
            server.stop()


def deployments(stack: Stack) -> dict[str, dict[str, Any]]:
    reply = stack.admin.get("/models")
    assert reply.status_code == 200, reply.text
    return {d["name"]: d for m in reply.json()["data"] for d in m["deployments"]}


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("not within time")


def ask(stack: Stack) -> tuple[str, str]:
    raw = stack.client.chat.completions.with_raw_response.create(model="checked", messages=HELLO)
    assert raw.parse().choices[0].message.content  # an answer, not an error
    return raw.headers["x-twelve-deployment"], raw.headers["x-twelve-attempts"]


def test_a_down_upstream_is_marked_skipped_and_taken_back_when_healed(stack: Stack) -> None:
    def health(name: str) -> str:
        status: str = deployments(stack)[name]["health"]["status"]
        return status

    wait_for(lambda: health("hc-primary") == "healthy" and health("hc-secondary") == "healthy")
    assert {ask(stack)[0] for _ in range(5)} == {"hc-primary"}

    # Down entirely: its health path and its completions. Requests keep coming meanwhile; the
    # ones sent before the check notices fail over to the secondary, none fails.
    stack.primary.set("models", "fail")
    stack.primary.set("hc-primary", "fail")
    while not deployments(stack)["hc-primary"]["actively_unhealthy"]:
        assert ask(stack)[0] == "hc-secondary"
    view = deployments(stack)["hc-primary"]
    assert view["health"]["status"] == "unhealthy" and view["health"]["detail"] == "HTTP 503"
    calls = stack.primary.calls["hc-primary"]
    replies = [ask(stack) for _ in range(20)]
    assert set(replies) == {("hc-secondary", "1")}  # straight there: not one failed attempt
    assert stack.primary.calls["hc-primary"] == calls

    stack.primary.set("models", "ok")
    stack.primary.set("hc-primary", "ok")
    wait_for(lambda: not deployments(stack)["hc-primary"]["actively_unhealthy"])
    time.sleep(1.1)  # a breaker opened by the early failures ends its 1 s ejection
    wait_for(lambda: ask(stack)[0] == "hc-primary")
    assert {ask(stack)[0] for _ in range(5)} == {"hc-primary"}

    metrics = httpx.get(f"{stack.server.base_url}/metrics").text
    assert 'twelve_deployment_health{deployment="hc-primary"} 1.0' in metrics
    assert 'twelve_health_checks_total{deployment="hc-primary",result="unhealthy"}' in metrics


def test_the_admin_view_shows_routing_and_health(stack: Stack) -> None:
    reply = stack.admin.get("/models")
    assert reply.status_code == 200, reply.text
    models = {m["id"]: m for m in reply.json()["data"]}
    checked = models["checked"]
    assert checked["strategy"] == "priority" and checked["fallbacks"] == ["spare"]
    assert [d["name"] for d in checked["deployments"]] == ["hc-primary", "hc-secondary"]
    primary = checked["deployments"][0]
    assert primary["provider"] == "openai" and primary["priority"] == 0
    assert primary["weight"] == 2
    assert primary["health"]["checked_at"] and primary["health"]["interval_seconds"] == 1
    assert primary["breaker"]["state"] in ("closed", "open", "half_open")
    assert primary["in_flight"] == 0
    spare = models["spare"]["deployments"][0]
    assert spare["health"] == spare["health"] | {"status": "unknown", "detail": "checks disabled"}
    assert "sk-x" not in reply.text and "127.0.0.1" not in reply.text  # no secrets, no URLs


def test_the_admin_view_needs_the_admin_key(stack: Stack) -> None:
    url = f"{stack.server.base_url}/admin/v1/models"
    for headers in ({}, {"Authorization": f"Bearer {stack.key}"}):
        reply = httpx.get(url, headers=headers)
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "invalid_admin_key"
