"""A worker that dies for good (SIGKILL, never restarted) or stops cleanly does not strand the jobs
it had in hand: the other workers see its heartbeat stop and put its jobs back on the queue, and
each of them ends `succeeded`. On the embedded default (SQLite files shared by the processes) and
on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.jobs_stack import TERMINAL, Worker, jobs_env, shared_database
from tests.e2e.server import TwelveServer, clean_env
from tests.e2e.stack import UPSTREAM_KEY
from tests.fakes.upstream import FakeUpstream

JOBS = 6


def slow_config(path: Path, upstream_url: str) -> Path:
    path.write_text(
        "models:\n  - name: slow\n    deployments:\n      - provider: openai\n"
        f"        base_url: {upstream_url}/v1\n        api_key: ${{E2E_UPSTREAM_KEY}}\n"
        "        model: slow-2500\n        timeout: 10\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_dead_or_stopped_worker_s_jobs_are_taken_over(
    backend: str, upstream: FakeUpstream, tmp_path: Path, admin_key: str
) -> None:
    with shared_database(backend) as store:
        scenario(upstream, tmp_path, admin_key, store)


def scenario(upstream: FakeUpstream, root: Path, admin_key: str, store: dict[str, str]) -> None:
    env = jobs_env(slow_config(root / "twelve.yaml", upstream.base_url), root / "data", admin_key)
    env |= store | {
        "E2E_UPSTREAM_KEY": UPSTREAM_KEY,
        "TWELVE_JOBS_CONCURRENCY": str(JOBS),
        "TWELVE_JOBS_HEARTBEAT_SECONDS": "0.3",
        "TWELVE_JOBS_TAKEOVER_SECONDS": "2",
    }
    api = TwelveServer(env | {"TWELVE_JOBS_WORKER": "false"}, root / "api.log")
    api.start()
    admin = httpx.Client(
        base_url=f"{api.base_url}/admin/v1", headers={"Authorization": f"Bearer {admin_key}"}
    )
    try:
        made = admin.post("/customers", json={"name": "acme"})
        assert made.status_code == 201, made.text
        key = admin.post("/keys", json={"customer_id": made.json()["id"]}).json()["key"]
        client = httpx.Client(
            base_url=api.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        with client, crew(env, root, "doomed") as doomed:
            # The only worker takes every job; it dies with all of them in hand, for good.
            ids = submit(client, "first")
            wait_running(client, ids)
            doomed.kill()
            with crew(env, root, "heir") as heir:
                ended = wait_ended(client, ids, timeout=60)
                assert all(j["status"] == "succeeded" for j in ended), ended
                # Any process whose engine runs may declare it dead (the API server too).
                assert taken_over(root, "doomed")
                roster = admin.get("/jobs/workers").json()
                assert roster["object"] == "list"
                assert [(w["name"], w["state"]) for w in roster["data"]] == [("heir", "alive")]
                # A clean stop hands over at once (no takeover wait): its jobs end elsewhere.
                more = submit(client, "second")
                wait_running(client, more)
                with crew(env, root, "next"):
                    heir.stop()
                    ended = wait_ended(client, more, timeout=60)
                    assert all(j["status"] == "succeeded" for j in ended), ended
                    assert taken_over(root, "heir")
    finally:
        admin.close()
        api.stop()


@contextmanager
def crew(env: dict[str, str], root: Path, name: str) -> Iterator[Worker]:
    worker = Worker(name, clean_env(env), root / f"{name}.log")
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def taken_over(root: Path, name: str) -> bool:
    logs = [p.read_text() for p in root.glob("*.log")]
    return any(f'"worker":"{name}"' in line and "worker_taken_over" in line
               for text in logs for line in text.splitlines())  # fmt: skip


def submit(client: httpx.Client, batch: str) -> list[str]:
    ids = []
    for n in range(JOBS):
        body = {
            "task_id": f"{batch}-{n}",
            "task_type": "chat_completion",
            "parameters": {"model": "slow", "messages": [{"role": "user", "content": f"{n}"}]},
            "max_retries": 3,
            "timeout_seconds": 10,
        }
        answer = client.post("/v1/jobs", json=body)
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    return ids


def wait_running(client: httpx.Client, ids: list[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(client.get(f"/v1/jobs/{i}").json()["status"] == "running" for i in ids):
            return
        time.sleep(0.1)
    raise AssertionError("the jobs never all ran")


def wait_ended(client: httpx.Client, ids: list[str], timeout: float) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    jobs: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        jobs = [client.get(f"/v1/jobs/{i}").json() for i in ids]
        if all(j["status"] in TERMINAL for j in jobs):
            return jobs
        time.sleep(0.2)
    raise AssertionError(f"jobs still open after {timeout} s: {[j['status'] for j in jobs]}")
