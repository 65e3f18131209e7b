"""200 jobs across 3 `twelve worker` processes, each SIGKILLed at random moments a few times and
restarted under its name: every job ends exactly once, nothing is lost, credits are settled once
per job and balance to the cent, and every webhook a job's callback gets carries that job's one
`webhook-id` with a valid signature. On the embedded default (SQLite files shared by four
processes) and on PostgreSQL (module schemas and DBOS's system database)."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks import Webhook

from tests.e2e.jobs_stack import TERMINAL, Receiver, Worker, jobs_env, shared_database
from tests.e2e.server import TwelveServer, clean_env
from tests.e2e.stack import UPSTREAM_KEY
from tests.fakes.upstream import FakeUpstream

JOBS = 200
WORKERS = 3
KILLS_PER_WORKER = 3
CREDITS_MICROS = 10_000_000


def priced_config(path: Path, upstream_url: str) -> Path:
    path.write_text(
        "\n".join(
            [
                "models:",
                "  - name: priced-slow",
                "    deployments:",
                "      - provider: openai",
                f"        base_url: {upstream_url}/v1",
                "        api_key: ${E2E_UPSTREAM_KEY}",
                "        model: slow-150",
                "        timeout: 10",
                "        input_cost_per_mtok: 1",
                "        output_cost_per_mtok: 1",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return path


@contextmanager
def workers(env: dict[str, str], root: Path) -> Iterator[list[Worker]]:
    started = [Worker(f"w{i}", clean_env(env), root / f"w{i}.log") for i in range(WORKERS)]
    try:
        for worker in started:
            worker.start()
        yield started
    finally:
        for worker in started:
            worker.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_killed_workers_lose_no_job_and_repeat_no_effect(
    backend: str, upstream: FakeUpstream, tmp_path: Path, admin_key: str
) -> None:
    with shared_database(backend) as store:
        run_scenario(upstream, tmp_path, admin_key, store)


def run_scenario(upstream: FakeUpstream, root: Path, admin_key: str, store: dict[str, str]) -> None:
    config = priced_config(root / "twelve.yaml", upstream.base_url)
    env = jobs_env(config, root / "data", admin_key) | store
    env |= {"E2E_UPSTREAM_KEY": UPSTREAM_KEY, "TWELVE_JOBS_CONCURRENCY": "8"}
    api = TwelveServer(env | {"TWELVE_JOBS_WORKER": "false"}, root / "api.log")
    api.start()
    admin = httpx.Client(
        base_url=f"{api.base_url}/admin/v1", headers={"Authorization": f"Bearer {admin_key}"}
    )
    try:
        made = admin.post("/customers", json={"name": "acme", "credits": CREDITS_MICROS / 1e6})
        assert made.status_code == 201, made.text
        customer_id = made.json()["id"]
        key = admin.post("/keys", json={"customer_id": customer_id}).json()["key"]
        client = httpx.Client(
            base_url=api.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        with client, Receiver() as receiver, workers(env, root) as crew:
            ids = submit_all(client, receiver.url)
            kill_at_random(crew, client, ids)
            ended = wait_all(client, ids, timeout=180)
            wait_webhooks(receiver, ended, timeout=60)
            check_webhooks(receiver, ended, admin.get(f"/customers/{customer_id}/webhook-secret"))
        assert all(w.kills == KILLS_PER_WORKER for w in crew)
        check_credits(admin, customer_id, ended)
    finally:
        admin.close()
        api.stop()


def submit_all(client: httpx.Client, callback: str) -> list[str]:
    ids = []
    for n in range(JOBS):
        body = {
            "task_id": f"t{n}",
            "task_type": "chat_completion",
            "priority": random.choice(["high", "standard", "low"]),
            "parameters": {
                "model": "priced-slow",
                "messages": [{"role": "user", "content": f"job number {n}"}],
                "max_tokens": 20,
            },
            "callback_url": callback,
            "max_retries": 5,
            "timeout_seconds": 10,
        }
        answer = client.post("/v1/jobs", json=body)
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    assert len(set(ids)) == JOBS
    return ids


def kill_at_random(crew: list[Worker], client: httpx.Client, ids: list[str]) -> None:
    """Kill each worker KILLS_PER_WORKER times, at random moments while jobs run."""
    plan = [w for w in crew for _ in range(KILLS_PER_WORKER)]
    random.shuffle(plan)
    for worker in plan:
        time.sleep(random.uniform(0.3, 1.2))
        worker.kill()
        time.sleep(random.uniform(0.05, 0.4))
        worker.start()


def wait_all(client: httpx.Client, ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs: dict[str, dict[str, Any]] = {}
        after = None
        while True:
            page = client.get(
                "/v1/jobs", params={"limit": 100, **({"after": after} if after else {})}
            )
            for job in page.json()["data"]:
                jobs[job["id"]] = job
            if not page.json()["has_more"]:
                break
            after = page.json()["last_id"]
        if len(jobs) == JOBS and all(j["status"] in TERMINAL for j in jobs.values()):
            return jobs
        time.sleep(0.5)
    open_jobs = {i: j["status"] for i, j in jobs.items() if j["status"] not in TERMINAL}
    raise AssertionError(f"{len(open_jobs)} jobs still open after {timeout} s: {open_jobs}")


def wait_webhooks(receiver: Receiver, ended: dict[str, dict[str, Any]], timeout: float) -> None:
    wanted = {j["webhook_id"] for j in ended.values()}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = {h["webhook-id"] for h, _ in list(receiver.received)}
        if wanted <= got:
            return
        time.sleep(0.2)
    raise AssertionError(f"{len(wanted - got)} webhooks never arrived")


def check_webhooks(
    receiver: Receiver, ended: dict[str, dict[str, Any]], secret: httpx.Response
) -> None:
    verifier = Webhook(secret.json()["secret"])
    by_job: dict[str, set[str]] = defaultdict(set)
    for headers, body in list(receiver.received):
        payload = verifier.verify(body, headers)
        by_job[payload["data"]["id"]].add(headers["webhook-id"])
    for job_id, job in ended.items():
        assert job["status"] == "succeeded", job  # killed attempts are retried, not failed
        assert job["result"]["object"] == "chat.completion"
        assert job["attempts"] <= job["max_retries"] + 1
        # At least once, and every delivery of one job's end carries the same id.
        assert by_job[job_id] == {job["webhook_id"]}, (job_id, by_job[job_id])


def check_credits(admin: httpx.Client, customer_id: str, ended: dict[str, dict[str, Any]]) -> None:
    deadline = time.monotonic() + 20
    account: dict[str, Any] = {}
    while time.monotonic() < deadline:
        account = admin.get(f"/customers/{customer_id}").json()
        if account["open_holds"] == 0:
            break
        time.sleep(0.2)
    assert account["open_holds"] == 0 and account["held_micros"] == 0, account
    charged = sum(j["cost_micros"] for j in ended.values())
    assert charged > 0
    # Each job's hold settled once, at what its attempts cost: the balance says so exactly.
    assert account["balance_micros"] == CREDITS_MICROS - charged, (account, charged)
    assert orjson.dumps(account)  # the account is well-formed JSON all the way
