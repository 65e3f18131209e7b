"""Workflows through a real `twelve serve`, defined in its config file and driven by the
fault-injecting fake provider: each failure policy gives its documented outcome (forward recovery
by retries, fallback to another model, partial completion, a default, going on, retrying later,
full rollback with compensations in reverse), and bad input or a bad definition is refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from tests.e2e.jobs_stack import Receiver, jobs_config, jobs_env, new_key
from tests.e2e.server import TwelveServer
from tests.fakes.upstream import FakeUpstream


def chat(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def undo(text: str) -> dict[str, Any]:
    return {"capability": "chat", "model": "echo", "input": chat(text)}


WORKFLOWS = [
    {
        "name": "rollback",
        "steps": [
            {"name": "first", "capability": "chat", "model": "echo",
             "input": chat("first ${request.topic}"),
             "compensate": undo("undo first ${request.topic}")},
            {"name": "second", "capability": "chat", "model": "echo",
             "input": chat("second ${request.topic}"),
             "compensate": undo("undo second ${request.topic}")},
            {"name": "third", "capability": "chat", "model": "broken",
             "input": chat("third ${request.topic}"), "retries": 1, "backoff_seconds": 0.05},
            {"name": "never", "capability": "chat", "model": "echo", "input": chat("never")},
        ],
    },
    {
        "name": "recover",
        "steps": [
            {"name": "flaky", "capability": "chat", "model": "flaky-twice", "retries": 2,
             "backoff_seconds": 0.05, "input": chat("flaky ${request.topic}")},
            {"name": "fallback", "capability": "chat", "model": "broken", "fallbacks": ["echo"],
             "input": chat("fell back ${request.topic}")},
            {"name": "defaulted", "capability": "chat", "model": "rejecting",
             "on_failure": {"default": {"label": "unclassified"}}, "input": chat("x")},
            {"name": "went_on", "capability": "chat", "model": "broken", "on_failure": "continue",
             "input": chat("y")},
            {"name": "later", "capability": "chat", "model": "flaky-later", "retries": 1,
             "backoff_seconds": 0.05, "on_failure": "retry_later", "retry_later_seconds": 0.2,
             "retry_later_rounds": 3,
             "input": chat("later ${request.topic}")},
            {"name": "uses", "capability": "chat", "model": "echo",
             "input": chat("label=${steps.defaulted.output.label} gone=${steps.went_on.output}")},
        ],
    },
    {
        "name": "capped",
        "steps": [
            # At $1 per million tokens a token costs a micro-dollar: the first step's worst case
            # is some 40, the second's over 1,000.
            {"name": "first", "capability": "chat", "model": "priced-echo",
             "input": {**chat("one"), "max_tokens": 16}},
            {"name": "second", "capability": "chat", "model": "priced-echo",
             "input": {**chat("two"), "max_tokens": 1000}},
        ],
    },
    {
        "name": "calls",
        "steps": [
            {"name": "post", "capability": "http",
             "input": {"url": "${request.hook}", "json": {"topic": "${request.topic}"}}},
            {"name": "private", "capability": "http", "on_failure": "continue",
             "input": {"url": "http://10.1.2.3/x", "method": "GET"}},
        ],
    },
    {
        "name": "partial",
        "steps": [
            {"name": "extract", "capability": "chat", "model": "echo", "input": chat("text")},
            {"name": "summarize", "capability": "chat", "model": "broken",
             "on_failure": "partial", "input": chat("summary")},
            {"name": "classify", "capability": "chat", "model": "echo", "input": chat("label")},
            {"name": "store", "capability": "store",
             "input": {"text": "${steps.extract.output.choices.0.message.content}"}},
        ],
    },
]  # fmt: skip


@pytest.fixture(scope="module")
def twelve(
    upstream: FakeUpstream, admin_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwelveServer]:
    root = tmp_path_factory.mktemp("workflows")
    # Model ids the fake's failure counters are kept by: used by no other test in the session.
    extra = {"flaky-twice": "flaky-2", "flaky-later": "flaky-4"}
    config = jobs_config(root / "twelve.yaml", upstream.base_url, extra)
    priced = (
        "models:\n  - name: priced-echo\n    deployments:\n      - provider: openai\n"
        f"        base_url: {upstream.base_url}/v1\n        api_key: ${{E2E_UPSTREAM_KEY}}\n"
        "        model: gpt-echo\n        input_cost_per_mtok: 1\n        output_cost_per_mtok: 1\n"
    )
    config.write_text(config.read_text().replace("models:\n", priced, 1), encoding="utf-8")
    with config.open("a", encoding="utf-8") as f:
        f.write(yaml.safe_dump({"workflows": WORKFLOWS}))
    server = TwelveServer(jobs_env(config, root / "data", admin_key), root / "stderr.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(twelve: TwelveServer, admin_key: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{twelve.base_url}/admin/v1", headers=headers) as admin:
        key = new_key(admin, "workflows-acme")
        customer = admin.get("/customers/workflows-acme").json()["id"]
        topped = admin.post(f"/customers/{customer}/credits", json={"amount": 1.0})
        assert topped.status_code in (200, 201), topped.text
    with httpx.Client(base_url=twelve.base_url, headers={"Authorization": f"Bearer {key}"}) as c:
        yield c


def run(client: httpx.Client, name: str, body: dict[str, Any]) -> dict[str, Any]:
    started = client.post(f"/v1/workflows/{name}", json=body)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found: dict[str, Any] = client.get(f"/v1/workflows/{run_id}").json()
        if found["status"] not in ("queued", "running"):
            return found
        time.sleep(0.05)
    raise AssertionError(f"workflow {run_id} did not end: {found}")


def steps_of(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in found["steps"]}


def sent(upstream: FakeUpstream, tag: str) -> list[str]:
    texts = [
        str((r.json or {}).get("messages", [{}])[-1].get("content", "")) for r in upstream.requests
    ]
    return [t for t in texts if tag in t]


def test_a_failed_step_rolls_back_what_succeeded_in_reverse(
    client: httpx.Client, upstream: FakeUpstream
) -> None:
    found = run(client, "rollback", {"topic": "rb1"})
    assert found["status"] == "compensated", found
    steps = steps_of(found)
    assert steps["first"]["status"] == steps["second"]["status"] == "compensated"
    assert steps["third"]["status"] == "failed" and steps["third"]["attempts"] == 2
    assert steps["never"]["status"] == "skipped"
    assert found["error"]["status"] in (502, 503)
    assert sent(upstream, "rb1") == [
        "first rb1", "second rb1", "third rb1", "third rb1", "undo second rb1", "undo first rb1",
    ]  # fmt: skip


def test_each_policy_gives_its_documented_outcome(
    client: httpx.Client, upstream: FakeUpstream
) -> None:
    found = run(client, "recover", {"topic": "rc1"})
    assert found["status"] == "succeeded" and not found["partial"], found
    steps = steps_of(found)
    # Forward recovery: retried with backoff until it answered.
    assert steps["flaky"]["status"] == "succeeded" and steps["flaky"]["attempts"] == 3
    # Fallback to another model.
    assert steps["fallback"]["status"] == "succeeded" and steps["fallback"]["model"] == "echo"
    # A default value, then going on without the step.
    assert steps["defaulted"]["outcome"] == "default_used"
    assert steps["defaulted"]["output"] == {"label": "unclassified"}
    assert steps["went_on"]["status"] == "failed" and steps["went_on"]["outcome"] == "continued"
    # Retried in a later round: flaky-4 fails four calls, two attempts a round.
    assert steps["later"]["status"] == "succeeded" and steps["later"]["attempts"] == 5
    answer = steps["uses"]["output"]["choices"][0]["message"]["content"]
    assert answer == "echo: label=unclassified gone="
    assert found["result"]["uses"] == steps["uses"]["output"]


def test_partial_keeps_what_it_has(client: httpx.Client) -> None:
    found = run(client, "partial", {})
    assert found["status"] == "succeeded" and found["partial"], found
    steps = steps_of(found)
    assert steps["summarize"]["status"] == "failed" and steps["summarize"]["outcome"] == "partial"
    assert steps["classify"]["status"] == "skipped"
    assert steps["store"]["status"] == "succeeded"  # the partial result is kept
    file_id = steps["store"]["output"]["file_id"]
    stored = client.get(f"/v1/files/{file_id}/content").json()
    assert stored["text"] == "echo: text"


def test_runs_are_listed_for_their_customer_only(
    twelve: TwelveServer, client: httpx.Client, admin_key: str
) -> None:
    found = run(client, "partial", {})
    listed = client.get("/v1/workflows", params={"status": "succeeded"}).json()["data"]
    assert found["id"] in [r["id"] for r in listed]
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{twelve.base_url}/admin/v1", headers=headers) as admin:
        other = new_key(admin, "workflows-globex")
    with httpx.Client(base_url=twelve.base_url, headers={"Authorization": f"Bearer {other}"}) as c:
        assert c.get(f"/v1/workflows/{found['id']}").status_code == 404
        assert c.get("/v1/workflows").json()["data"] == []


@pytest.mark.parametrize(
    ("name", "body", "status", "param"),
    [
        ("no_such_workflow", {}, 404, "name"),
        ("document_analysis", {"file_id": "file-missing"}, 400, "file_id"),
        ("document_analysis", {"file_id": "file-x", "callback_url": "http://10.0.0.1/h"}, 400,
         "callback_url"),
        ("capped", {"budget_usd": -1}, 400, "budget_usd"),
        ("capped", {"budget_usd": "lots"}, 400, "budget_usd"),
        ("capped", {"budget_usd": True}, 400, "budget_usd"),
    ],
)  # fmt: skip
def test_bad_input_starts_nothing(
    client: httpx.Client, name: str, body: dict[str, Any], status: int, param: str
) -> None:
    before = len(client.get("/v1/workflows", params={"limit": 100}).json()["data"])
    refused = client.post(f"/v1/workflows/{name}", json=body)
    assert refused.status_code == status, refused.text
    assert refused.json()["error"]["param"] == param
    assert len(client.get("/v1/workflows", params={"limit": 100}).json()["data"]) == before


def test_a_bad_definition_is_refused_at_start_naming_it(
    upstream: FakeUpstream, admin_key: str, tmp_path: Path
) -> None:
    config = jobs_config(tmp_path / "twelve.yaml", upstream.base_url)
    bad = {"name": "broken_one", "steps": [
        {"name": "a", "capability": "chat", "model": "echo", "input": {"x": "${steps.b.output}"}},
        {"name": "b", "capability": "chat", "model": "echo"},
    ]}  # fmt: skip
    with config.open("a", encoding="utf-8") as f:
        f.write(yaml.safe_dump({"workflows": [bad]}))
    server = TwelveServer(jobs_env(config, tmp_path / "data", admin_key), tmp_path / "err.log")
    with pytest.raises(RuntimeError, match="exited"):
        server.start()
    assert "workflow 'broken_one'" in server.stderr() and "steps.0.input" in server.stderr()


def test_each_model_step_is_charged_and_a_budget_caps_the_run(
    client: httpx.Client, upstream: FakeUpstream
) -> None:
    unlimited = run(client, "capped", {})
    assert unlimited["status"] == "succeeded"
    assert all(s["cost_micros"] > 0 for s in unlimited["steps"])

    # The cap is hard: a step whose worst case does not fit in what is left is refused before
    # its model is called (nothing charged), so the run never spends past its budget.
    def calls() -> int:  # the priced model's chats (health checks and other tests aside)
        return sum(
            1 for r in upstream.requests
            if r.path.endswith("/chat/completions") and (r.json or {}).get("model") == "gpt-echo"
        )  # fmt: skip

    before = calls()
    found = run(client, "capped", {"budget_usd": 0.0002})
    steps = steps_of(found)
    assert steps["first"]["status"] == "succeeded" and 0 < steps["first"]["cost_micros"] <= 200
    assert found["status"] == "failed" and steps["second"]["status"] == "failed"
    assert steps["second"]["error"]["code"] == "budget_exceeded"
    assert "left of its budget" in steps["second"]["error"]["message"]
    assert steps["second"]["cost_micros"] == 0
    assert calls() == before + 1
    nothing = run(client, "capped", {"budget_usd": 0.000001})
    assert steps_of(nothing)["first"]["error"]["code"] == "budget_exceeded"
    assert sum(s["cost_micros"] for s in nothing["steps"]) == 0
    roomy = run(client, "capped", {"budget_usd": 0.01})
    assert roomy["status"] == "succeeded"


def test_an_http_step_calls_out_under_the_url_guard(client: httpx.Client) -> None:
    with Receiver() as receiver:
        found = run(client, "calls", {"hook": receiver.url, "topic": "tea"})
        _headers, body = receiver.received[-1]
    steps = steps_of(found)
    assert found["status"] == "succeeded", found
    assert steps["post"]["output"]["status"] == 204
    assert orjson.loads(body) == {"topic": "tea"}
    assert steps["private"]["status"] == "failed" and steps["private"]["outcome"] == "continued"
    assert "public address" in steps["private"]["error"]["message"]
