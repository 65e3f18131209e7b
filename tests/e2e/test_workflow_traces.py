"""One trace per workflow run: the starting request's, with a span per step attempt and the
model call's spans under it, exported over OTLP like a request's."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.jobs_stack import jobs_config, jobs_env, new_key
from tests.e2e.server import TwelveServer
from tests.e2e.test_otlp_traces import spans_of
from tests.fakes.otlp_receiver import otlp_app
from tests.fakes.upstream import FakeUpstream


@pytest.fixture
def receiver() -> Iterator[FakeUpstream]:
    with FakeUpstream(app=otlp_app) as fake:
        yield fake


def test_a_run_is_one_trace_with_a_span_per_step(
    upstream: FakeUpstream, receiver: FakeUpstream, admin_key: str, tmp_path: Path
) -> None:
    config = jobs_config(tmp_path / "twelve.yaml", upstream.base_url)
    steps = [
        {"name": name, "capability": "chat", "model": "echo",
         "input": {"messages": [{"role": "user", "content": name}]}}
        for name in ("first", "second")
    ]  # fmt: skip
    with config.open("a", encoding="utf-8") as f:
        f.write(yaml.safe_dump({"workflows": [{"name": "two", "steps": steps}]}))
    env = jobs_env(config, tmp_path / "data", admin_key) | {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.base_url,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    server = TwelveServer(env, tmp_path / "stderr.log")
    server.start()
    try:
        headers = {"Authorization": f"Bearer {admin_key}"}
        with httpx.Client(base_url=f"{server.base_url}/admin/v1", headers=headers) as admin:
            key = new_key(admin, "traced")
        trace_id = secrets.token_hex(16)
        parent = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}
        ) as client:
            run_id = client.post("/v1/workflows/two", json={}, headers=parent).json()["id"]
            deadline = time.monotonic() + 20
            while client.get(f"/v1/workflows/{run_id}").json()["status"] != "succeeded":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        deadline = time.monotonic() + 10
        while True:  # both steps' spans (and what they contain) reach the receiver
            spans = spans_of(receiver, trace_id, 1)
            if sum(s["name"] == "chat gpt-echo" for s in spans) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        server.stop()
    by_id = {s["span_id"]: s for s in spans}
    steps_seen = [s for s in spans if s["name"] == "twelve.workflow.step"]
    assert sorted(s["attributes"]["twelve.workflow.step"] for s in steps_seen) == [
        "first", "second",
    ]  # fmt: skip
    calls = [s for s in spans if s["name"] == "chat gpt-echo"]
    assert len(calls) == 2
    for call in calls:  # each model call sits under a step's span, in the one trace
        parent = by_id.get(call["parent_span_id"])
        while parent is not None and parent["name"] != "twelve.workflow.step":
            parent = by_id.get(parent["parent_span_id"])
        assert parent is not None, call
