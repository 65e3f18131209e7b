"""The queue under load, through a real `twelve serve`: high-priority jobs start before queued
standard and low ones; 100 job webhooks reach a receiver that fails 30% and hangs 10% of the
time, all signed and each under one stable `webhook-id`; a full queue answers 429 with
Retry-After; `twelve jobs watch` follows a job to its end."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from tests.e2e.jobs_stack import Receiver, chat_job, jobs_config, jobs_env, new_key, wait_ended
from tests.e2e.server import TwelveServer, run_cli
from tests.fakes.upstream import FakeUpstream


def start(root: Path, upstream: FakeUpstream, admin_key: str, **env: str) -> TwelveServer:
    config = jobs_config(root / "twelve.yaml", upstream.base_url, {"blocker": "slow-1500"})
    server = TwelveServer(jobs_env(config, root / "data", admin_key) | env, root / "stderr.log")
    server.start()
    return server


@pytest.fixture
def one_at_a_time(upstream: FakeUpstream, admin_key: str, tmp_path: Path) -> Iterator[TwelveServer]:
    server = start(tmp_path, upstream, admin_key, TWELVE_JOBS_CONCURRENCY="1",
                   TWELVE_JOBS_MAX_QUEUE_DEPTH="20")  # fmt: skip
    yield server
    server.stop()


def clients(server: TwelveServer, admin_key: str) -> tuple[httpx.Client, httpx.Client]:
    admin = httpx.Client(
        base_url=f"{server.base_url}/admin/v1", headers={"Authorization": f"Bearer {admin_key}"}
    )
    key = new_key(admin, "queue-acme")
    user = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"})
    return admin, user


def wait_running(user: httpx.Client, job_id: str) -> None:
    deadline = time.monotonic() + 10
    while user.get(f"/v1/jobs/{job_id}").json()["status"] != "running":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.02)


def test_high_priority_jobs_start_before_queued_standard_and_low_ones(
    one_at_a_time: TwelveServer, admin_key: str, upstream: FakeUpstream
) -> None:
    admin, user = clients(one_at_a_time, admin_key)
    with closing(admin), closing(user):
        blocker = user.post("/v1/jobs", json=chat_job("blocker", "blocker")).json()
        wait_running(user, blocker["id"])  # the one worker slot is now busy with it
        tag = f"prio-{random.randrange(10**9)}"
        ids = []
        for priority in ["low"] * 4 + ["standard"] * 4 + ["high"] * 4:
            body = chat_job(f"{tag} {priority} {len(ids)}", priority=priority)
            ids.append(user.post("/v1/jobs", json=body).json()["id"])
        depth = admin.get("/jobs/queue").json()
        assert (depth["high"], depth["standard"], depth["low"]) == (4, 4, 4), depth
        for job_id in [blocker["id"], *ids]:
            assert wait_ended(user, job_id)["status"] == "succeeded"
    order = [
        text.split()[1]
        for r in upstream.requests
        for text in [str((r.json or {}).get("messages", [{}])[-1].get("content", ""))]
        if text.startswith(tag)
    ]
    assert order == ["high"] * 4 + ["standard"] * 4 + ["low"] * 4, order


def test_a_full_queue_refuses_new_jobs_with_429(
    one_at_a_time: TwelveServer, admin_key: str
) -> None:
    admin, user = clients(one_at_a_time, admin_key)
    with closing(admin), closing(user):
        wait_running(user, user.post("/v1/jobs", json=chat_job("blocker", "blocker")).json()["id"])
        answers = [user.post("/v1/jobs", json=chat_job(f"fill {n}")) for n in range(25)]
        statuses = [a.status_code for a in answers]
        assert statuses[:20] == [202] * 20 and set(statuses[20:]) <= {202, 429}, statuses
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["error"]["code"] == "queue_full"
        assert int(refused.headers["retry-after"]) > 0
        listed = user.get("/v1/jobs", params={"limit": 100}).json()["data"]
        assert len(listed) == 1 + statuses.count(202)  # nothing kept for a refusal


def test_100_webhooks_reach_a_flaky_receiver(
    upstream: FakeUpstream, admin_key: str, tmp_path: Path
) -> None:
    server = start(tmp_path, upstream, admin_key, TWELVE_JOBS_CONCURRENCY="16")
    admin, user = clients(server, admin_key)
    rng = random.Random(12)
    with server_stopped(server), closing(admin), closing(user), Receiver() as receiver:
        receiver.hang_seconds = 2.0  # past TWELVE_EVENTS_TIMEOUT_SECONDS=1: a timed-out attempt

        def answer(_n: int) -> int | None:
            roll = rng.random()
            return None if roll < 0.1 else 500 if roll < 0.4 else 204

        receiver.answer = answer
        ids = [
            user.post("/v1/jobs", json=chat_job(f"hook {n}", callback_url=receiver.url)).json()[
                "id"
            ]
            for n in range(100)
        ]
        jobs = {job_id: wait_ended(user, job_id, timeout=60) for job_id in ids}
        wanted = {job["webhook_id"]: job_id for job_id, job in jobs.items()}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            delivered = {
                d["id"]
                for d in admin.get("/webhooks", params={"limit": 1000}).json()["data"]
                if d["status"] == "delivered"
            }
            if set(wanted) <= delivered:
                break
            time.sleep(0.3)
        assert set(wanted) <= delivered, f"{len(set(wanted) - delivered)} not delivered"
        customer = admin.get(f"/webhooks/{next(iter(wanted))}").json()["customer_id"]
        secret = admin.get(f"/customers/{customer}/webhook-secret").json()["secret"]
        seen: dict[str, set[str]] = defaultdict(set)
        for headers, body in list(receiver.received):
            payload = Webhook(secret).verify(body, headers)  # raises on a bad signature
            seen[payload["data"]["id"]].add(headers["webhook-id"])
        assert len(receiver.received) > 100  # failures and hangs were retried
        for webhook_id, job_id in wanted.items():
            assert seen[job_id] == {webhook_id}


class server_stopped:  # noqa: N801 - a context manager read as a clause
    def __init__(self, server: TwelveServer) -> None:
        self._server = server

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_exc: object) -> None:
        self._server.stop()


def test_twelve_jobs_watch_follows_a_job_to_its_end(
    one_at_a_time: TwelveServer, admin_key: str
) -> None:
    admin, user = clients(one_at_a_time, admin_key)
    with closing(admin), closing(user):
        job = user.post("/v1/jobs", json=chat_job("watch me")).json()
        env = {"TWELVE_DATA_DIR": one_at_a_time.env["TWELVE_DATA_DIR"],
               "TWELVE_CONFIG": one_at_a_time.env["TWELVE_CONFIG"],
               "E2E_UPSTREAM_KEY": one_at_a_time.env["E2E_UPSTREAM_KEY"]}  # fmt: skip
        watched = run_cli("jobs", "watch", job["id"], "--interval", "0.1", env=env, timeout=60)
        assert watched.returncode == 0, watched.stderr
        assert "succeeded" in watched.stdout and "echo: watch me" in watched.stdout
        missing = run_cli("jobs", "watch", "job_nope", env=env, timeout=60)
        assert missing.returncode == 2 and "no such job" in missing.stderr
