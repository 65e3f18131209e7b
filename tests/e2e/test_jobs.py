"""Jobs through a real `twelve serve` (its in-process worker, DBOS on SQLite): submit the task
message, read, list and cancel jobs, idempotent task ids, bad input, retries to a dead letter and
its replay by an admin, a job's webhook, credits held and settled once."""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.e2e.jobs_stack import Receiver, chat_job, jobs_config, jobs_env, new_key, wait_ended
from tests.e2e.server import TwelveServer
from tests.fakes.upstream import FakeUpstream


@pytest.fixture(scope="module")
def twelve(
    upstream: FakeUpstream, admin_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwelveServer]:
    root = tmp_path_factory.mktemp("jobs")
    extra = {"always-failing": "flaky-3", "never": "fail-500", "cheap": "gpt-echo"}
    config = jobs_config(root / "twelve.yaml", upstream.base_url, extra)
    priced = (  # $1 per million tokens: a micro-dollar a token
        "models:\n  - name: priced-slow\n    deployments:\n      - provider: openai\n"
        f"        base_url: {upstream.base_url}/v1\n        api_key: ${{E2E_UPSTREAM_KEY}}\n"
        "        model: slow-1500\n        input_cost_per_mtok: 1\n"
        "        output_cost_per_mtok: 1\n"
    )
    config.write_text(config.read_text().replace("models:\n", priced, 1), encoding="utf-8")
    env = jobs_env(config, root / "data", admin_key) | {"TWELVE_JOBS_INLINE_RESULT_BYTES": "1024"}
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(twelve: TwelveServer, admin_key: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{twelve.base_url}/admin/v1", headers=headers) as client:
        yield client


def client_for(twelve: TwelveServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=twelve.base_url, headers={"Authorization": f"Bearer {key}"})


@pytest.fixture(scope="module")
def acme(twelve: TwelveServer, admin: httpx.Client) -> Iterator[httpx.Client]:
    with client_for(twelve, new_key(admin, "jobs-acme")) as client:
        yield client


def test_a_chat_job_runs_to_its_result(acme: httpx.Client) -> None:
    submitted = acme.post("/v1/jobs", json=chat_job("hello from a job", priority="high"))
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert job["status"] == "queued" and job["id"].startswith("job_")
    assert submitted.headers["location"] == f"/v1/jobs/{job['id']}" == job["url"]
    ended = wait_ended(acme, job["id"])
    assert ended["status"] == "succeeded", ended
    assert ended["attempts"] == 1 and ended["priority"] == "high"
    assert ended["result"]["object"] == "chat.completion"
    assert ended["result"]["choices"][0]["message"]["content"] == "echo: hello from a job"
    assert ended["started_at"] is not None and ended["finished_at"] >= ended["started_at"]
    listed = acme.get("/v1/jobs", params={"status": "succeeded"}).json()
    assert job["id"] in [j["id"] for j in listed["data"]]


def test_a_task_id_makes_submission_idempotent(acme: httpx.Client) -> None:
    first = acme.post("/v1/jobs", json=chat_job("once", task_id="task-42"))
    again = acme.post("/v1/jobs", json=chat_job("once", task_id="task-42"))
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]


def test_jobs_are_visible_only_to_their_customer(
    twelve: TwelveServer, admin: httpx.Client, acme: httpx.Client
) -> None:
    job = acme.post("/v1/jobs", json=chat_job("mine")).json()
    with client_for(twelve, new_key(admin, "jobs-globex")) as globex:
        assert globex.get(f"/v1/jobs/{job['id']}").status_code == 404
        assert globex.post(f"/v1/jobs/{job['id']}/cancel").status_code == 404
        assert job["id"] not in [j["id"] for j in globex.get("/v1/jobs").json()["data"]]


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"task_type": "translate"}, "task_type"),
        ({"priority": "urgent"}, "priority"),
        ({"max_retries": -1}, "max_retries"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"callback_url": "ftp://example.com/hook"}, "callback_url"),
        ({"callback_url": "http://10.1.2.3/hook"}, "callback_url"),
        ({"callback_url": "http://169.254.169.254/latest"}, "callback_url"),
        ({"parameters": {"model": "echo"}}, "parameters.messages"),
        (
            {"parameters": {"model": "nope", "messages": [{"role": "user", "content": "x"}]}},
            "model",
        ),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_queued(
    twelve: TwelveServer, admin: httpx.Client, change: dict[str, Any], param: str
) -> None:
    with client_for(twelve, new_key(admin, f"jobs-bad-{secrets.token_hex(4)}")) as client:
        refused = client.post("/v1/jobs", json=chat_job("bad") | change)
        assert refused.status_code in (400, 404), refused.text
        error = refused.json()["error"]
        assert error["param"] == param and "Traceback" not in refused.text
        assert client.get("/v1/jobs").json()["data"] == []


def test_a_job_that_always_fails_is_dead_after_its_retries_then_replayed(
    acme: httpx.Client, admin: httpx.Client, upstream: FakeUpstream
) -> None:
    # `flaky-3` fails its first three calls: max_retries=2 is three attempts, all failing.
    job = acme.post("/v1/jobs", json=chat_job("doomed", "always-failing", max_retries=2)).json()
    ended = wait_ended(acme, job["id"])
    assert ended["status"] == "dead", ended
    assert ended["attempts"] == 3
    assert ended["last_error"]["status"] in (502, 503)
    calls = [r for r in upstream.requests if (r.json or {}).get("model") == "flaky-3"]
    assert len(calls) == 3
    dead = admin.get("/jobs/dead").json()["data"]
    assert job["id"] in [j["id"] for j in dead]
    replayed = admin.post(f"/jobs/{job['id']}/retry")
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "queued"
    again = wait_ended(acme, job["id"])
    assert again["status"] == "succeeded" and again["attempts"] == 1, again
    assert job["id"] not in [j["id"] for j in admin.get("/jobs/dead").json()["data"]]
    assert admin.post(f"/jobs/{job['id']}/retry").status_code == 409


def test_a_bad_request_fails_at_once_without_retries(acme: httpx.Client) -> None:
    job = acme.post("/v1/jobs", json=chat_job("no", "rejecting", max_retries=5)).json()
    ended = wait_ended(acme, job["id"])
    assert ended["status"] == "failed" and ended["attempts"] == 1, ended
    assert ended["last_error"]["status"] == 400


def test_a_queued_job_can_be_cancelled(acme: httpx.Client) -> None:
    # A slow model keeps the first job busy long enough to cancel one behind it or itself.
    job = acme.post("/v1/jobs", json=chat_job("slow", "slow", timeout_seconds=5)).json()
    cancelled = acme.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert wait_ended(acme, job["id"])["status"] == "cancelled"
    # Cancelling an ended job changes nothing.
    assert acme.post(f"/v1/jobs/{job['id']}/cancel").json()["status"] == "cancelled"


def test_a_job_cancelled_mid_attempt_is_charged_for_that_attempt(
    twelve: TwelveServer, admin: httpx.Client
) -> None:
    """The upstream bills the call in flight: the job stays cancelled, starts no other attempt,
    and its hold is settled once at what that attempt cost (no more, the rest goes back)."""
    key = new_key(admin, "jobs-cancelling")
    customer = admin.get("/customers/jobs-cancelling").json()["id"]
    assert admin.post(f"/customers/{customer}/credits", json={"amount": 1.0}).status_code in (
        200,
        201,
    )
    with client_for(twelve, key) as client:
        job = client.post("/v1/jobs", json=chat_job("cancel me", "priced-slow")).json()
        deadline = time.monotonic() + 10
        while client.get(f"/v1/jobs/{job['id']}").json()["status"] != "running":
            assert time.monotonic() < deadline, "the job never ran"
            time.sleep(0.05)
        held = admin.get(f"/customers/{customer}").json()
        assert held["open_holds"] == 1 and held["held_micros"] > 0
        assert client.post(f"/v1/jobs/{job['id']}/cancel").json()["status"] == "cancelled"
        deadline = time.monotonic() + 10
        account: dict[str, Any] = held
        while account["open_holds"]:
            assert time.monotonic() < deadline, f"the hold was never settled: {account}"
            time.sleep(0.1)
            account = admin.get(f"/customers/{customer}").json()
        ended = client.get(f"/v1/jobs/{job['id']}").json()
    assert ended["status"] == "cancelled" and ended["attempts"] == 1
    assert ended["cost_micros"] > 0  # the attempt's tokens, at a micro-dollar each
    assert account["balance_micros"] == 1_000_000 - ended["cost_micros"]
    assert account["held_micros"] == 0


def test_the_callback_gets_one_signed_webhook(acme: httpx.Client, admin: httpx.Client) -> None:
    with Receiver() as receiver:
        job = acme.post("/v1/jobs", json=chat_job("call me", callback_url=receiver.url)).json()
        ended = wait_ended(acme, job["id"])
        assert ended["webhook_id"]
        delivery = _wait_delivered(admin, ended["webhook_id"])
        headers, body = receiver.received[-1]
    customer = delivery["customer_id"]
    secret = admin.get(f"/customers/{customer}/webhook-secret").json()["secret"]
    payload = Webhook(secret).verify(body, headers)
    assert headers["webhook-id"] == ended["webhook_id"]
    assert payload["type"] == "job.succeeded"
    assert payload["data"]["id"] == job["id"]


def _wait_delivered(admin: httpx.Client, webhook_id: str) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + 15
    found: dict[str, Any] = {}
    while time.monotonic() < deadline:
        found = admin.get(f"/webhooks/{webhook_id}").json()
        if found.get("status") == "delivered":
            return found
        time.sleep(0.05)
    raise AssertionError(f"webhook {webhook_id} not delivered: {found}")


def test_queue_depth_is_a_metric_and_an_admin_view(
    twelve: TwelveServer, admin: httpx.Client
) -> None:
    depth = admin.get("/jobs/queue").json()
    assert set(depth) >= {"high", "standard", "low", "running", "limit"}
    metrics = httpx.get(f"{twelve.base_url}/metrics").text
    assert 'twelve_queue_depth{priority="high"}' in metrics
    assert "twelve_jobs_ended_total" in metrics


def test_each_status_a_job_reaches_is_published_through_the_outbox(
    twelve: TwelveServer, acme: httpx.Client
) -> None:
    job = acme.post("/v1/jobs", json=chat_job("published")).json()
    assert wait_ended(acme, job["id"])["status"] == "succeeded"
    database = Path(twelve.env["TWELVE_DATA_DIR"]) / "jobs.db"
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(database) as conn:
            rows = conn.execute(
                "SELECT subject, relayed_ms FROM outbox WHERE payload LIKE ? ORDER BY seq",
                (f"%{job['id']}%",),
            ).fetchall()
        if all(relayed for _, relayed in rows) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    subjects = [subject for subject, _ in rows]
    assert subjects == ["twelve.jobs.job.queued", "twelve.jobs.job.running",
                        "twelve.jobs.job.succeeded"], subjects  # fmt: skip
    assert all(relayed for _, relayed in rows)  # the relay sent them on to the bus


def test_the_submitting_trace_continues_into_the_job_and_its_webhook(
    acme: httpx.Client, upstream: FakeUpstream
) -> None:
    trace_id = secrets.token_hex(16)
    sent = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    with Receiver() as receiver:
        job = acme.post(
            "/v1/jobs", json=chat_job(f"traced {trace_id}", callback_url=receiver.url), headers=sent
        ).json()
        assert wait_ended(acme, job["id"])["status"] == "succeeded"
        deadline = time.monotonic() + 15
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        hook_headers, _ = receiver.received[-1]
    call = next(r for r in upstream.requests if trace_id in str(r.json))
    assert call.headers["traceparent"].split("-")[1] == trace_id  # the attempt's model call
    assert hook_headers["traceparent"].split("-")[1] == trace_id  # the webhook


def test_a_result_too_large_to_inline_is_a_file(acme: httpx.Client) -> None:
    long_text = "word " * 400  # the echo answer is over TWELVE_JOBS_INLINE_RESULT_BYTES
    ended = wait_ended(acme, acme.post("/v1/jobs", json=chat_job(long_text)).json()["id"])
    assert ended["status"] == "succeeded" and ended["result"] is None, ended
    content = acme.get(f"/v1/files/{ended['result_file_id']}/content")
    assert content.status_code == 200
    answer = content.json()
    assert answer["choices"][0]["message"]["content"] == "echo: " + long_text
    listed = acme.get("/v1/files", params={"purpose": "job_result"}).json()["data"]
    assert [f["id"] for f in listed].count(ended["result_file_id"]) == 1
