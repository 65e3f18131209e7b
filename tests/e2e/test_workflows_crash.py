"""A 3-step workflow whose worker is SIGKILLed during each of its steps, 5 times per step, then
restarted under its name: every run ends succeeded (or fully compensated), and no step that had
finished before the kill runs again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.jobs_stack import Worker, jobs_config, jobs_env, new_key
from tests.e2e.server import TwelveServer, clean_env
from tests.fakes.upstream import FakeUpstream

ROUNDS = 5


def step(name: str) -> dict[str, Any]:
    messages = [{"role": "user", "content": f"{name} ${{request.tag}}"}]
    return {"name": name, "capability": "chat", "model": "slowly", "retries": 3,
            "backoff_seconds": 0.05, "input": {"messages": messages}}  # fmt: skip


def wait_for(client: httpx.Client, run_id: str, ready: Any, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found: dict[str, Any] = client.get(f"/v1/workflows/{run_id}").json()
        if ready(found):
            return found
        time.sleep(0.02)
    raise AssertionError(f"{run_id} never got there: {found}")


@pytest.mark.parametrize("killed_in", [0, 1, 2])
def test_a_killed_worker_resumes_each_run_without_repeating_finished_steps(
    killed_in: int, upstream: FakeUpstream, admin_key: str, tmp_path: Path
) -> None:
    config = jobs_config(tmp_path / "twelve.yaml", upstream.base_url, {"slowly": "slow-400"})
    workflow = {"name": "three", "steps": [step("one"), step("two"), step("three")]}
    with config.open("a", encoding="utf-8") as f:
        f.write(yaml.safe_dump({"workflows": [workflow]}))
    env = jobs_env(config, tmp_path / "data", admin_key)
    api = TwelveServer(env | {"TWELVE_JOBS_WORKER": "false"}, tmp_path / "api.log")
    api.start()
    worker = Worker("crash-w1", clean_env(env), tmp_path / "worker.log")
    worker.start()
    try:
        headers = {"Authorization": f"Bearer {admin_key}"}
        with httpx.Client(base_url=f"{api.base_url}/admin/v1", headers=headers) as admin:
            key = new_key(admin, f"crash-{killed_in}")
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=api.base_url, headers=auth) as client:
            for round_ in range(ROUNDS):
                tag = f"k{killed_in}r{round_}t{time.monotonic_ns()}"
                run_id = client.post("/v1/workflows/three", json={"tag": tag}).json()["id"]
                wait_for(client, run_id, lambda r: r["steps"][killed_in]["status"] == "running")
                time.sleep(0.15)  # mid-call: the slow model answers after 0.4 s
                worker.kill()
                worker.start()
                found = wait_for(client, run_id, lambda r: r["status"] not in ("queued", "running"))
                assert found["status"] == "succeeded", found
                calls = {
                    name: sum(1 for r in upstream.requests if f"{name} {tag}" in str(r.json))
                    for name in ("one", "two", "three")
                }
                for index, name in enumerate(("one", "two", "three")):
                    if index < killed_in:
                        assert calls[name] == 1, (name, calls)  # finished before: not again
                    else:
                        assert calls[name] >= 1, (name, calls)
                    assert found["steps"][index]["status"] == "succeeded"
    finally:
        worker.stop()
        api.stop()
    assert worker.kills == ROUNDS
