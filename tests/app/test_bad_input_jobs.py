"""The bad-input corpus against the jobs and workflows routes (in process, a real key, the fake
upstream): raw bodies, every field of the task message and of a workflow request made wrong or
hostile, hostile ids and queries. Every answer is a 2xx or an OpenAI-shaped 4xx, never a 5xx or a
traceback, and a refused submission queues nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.app.corpus import requests as corpus
from tests.app.corpus.stack import Stack, serving
from tests.app.test_bad_input_corpus import _problems
from tests.fakes.upstream import FakeUpstream

VALID_JOB: dict[str, Any] = {
    "task_id": "t-1",
    "task_type": "chat_completion",
    "priority": "standard",
    "parameters": {"model": "echo", "messages": corpus.HELLO},
    "max_retries": 1,
    "timeout_seconds": 10,
}
VALID_RUN: dict[str, Any] = {"file_id": "file-missing", "labels": ["a", "b"]}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def stack(upstream: FakeUpstream, tmp_path: Path) -> AsyncIterator[Stack]:
    async with serving(upstream, tmp_path) as running:
        yield running


def mutations(valid: dict[str, Any]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for field in [*valid, "callback_url", "created_at", "unknown_field"]:
        for name, value in {**corpus.WRONG_VALUES, **corpus.HOSTILE_STRINGS}.items():
            out[f"{field}={name}"] = orjson.dumps(valid | {field: value})
        out[f"{field}=missing"] = orjson.dumps({k: v for k, v in valid.items() if k != field})
    for name, value in corpus.WRONG_VALUES.items():
        if "parameters" in valid:
            out[f"parameters.messages={name}"] = orjson.dumps(
                valid | {"parameters": {"model": "echo", "messages": value}}
            )
    return out


async def check(stack: Stack, label: str, method: str, path: str, **kwargs: Any) -> int:
    if path.startswith("/admin/"):
        kwargs["headers"] = stack.admin | kwargs.get("headers", {})
    response = await stack.client.request(method, path, **kwargs)
    problems = _problems(response)
    assert not problems, f"{label} {method} {path}: {problems}"
    return response.status_code


async def queued(stack: Stack) -> list[str]:
    listed = await stack.client.get("/v1/jobs", params={"limit": 100})
    return [j["id"] for j in listed.json()["data"]]


async def test_job_submissions_bad_in_every_field(stack: Stack) -> None:
    accepted = 0
    for label, raw in {**corpus.RAW_BODIES, **mutations(VALID_JOB)}.items():
        before = await queued(stack)
        status = await check(stack, label, "POST", "/v1/jobs", content=raw)
        after = await queued(stack)
        if status >= 400:
            assert after == before, f"{label}: a refused job was kept"
        else:
            accepted += 1
    assert accepted >= 1  # the valid task message (with harmless changes) is accepted


async def test_workflow_starts_bad_in_every_field(stack: Stack) -> None:
    for label, raw in {**corpus.RAW_BODIES, **mutations(VALID_RUN)}.items():
        status = await check(stack, label, "POST", "/v1/workflows/document_analysis", content=raw)
        assert status >= 400, label  # no such file, whatever else is wrong
    runs = await stack.client.get("/v1/workflows")
    assert runs.json()["data"] == []


async def test_hostile_ids_and_queries(stack: Stack) -> None:
    for segment in corpus.HOSTILE_SEGMENTS:
        for method, path in [
            ("GET", f"/v1/jobs/{segment}"),
            ("POST", f"/v1/jobs/{segment}/cancel"),
            ("GET", f"/v1/jobs?after={segment}"),
            ("GET", f"/v1/jobs?status={segment}"),
            ("GET", f"/v1/workflows/{segment}"),
            ("POST", f"/v1/workflows/{segment}"),
            ("GET", f"/v1/workflows?status={segment}"),
            ("GET", f"/admin/v1/jobs/{segment}"),
            ("POST", f"/admin/v1/jobs/{segment}/retry"),
            ("GET", f"/admin/v1/jobs?customer_id={segment}"),
            ("GET", f"/admin/v1/workflows/{segment}"),
            ("GET", f"/admin/v1/workflows?customer_id={segment}"),
            ("GET", f"/admin/v1/workflows?name={segment}"),
            ("GET", f"/admin/v1/workflows?status={segment}"),
            ("GET", f"/admin/v1/workflows?limit={segment}"),
            ("GET", f"/admin/v1/workflows?after={segment}"),
        ]:
            await check(stack, segment, method, path, json={})


@pytest.mark.parametrize(
    ("query", "status", "param"),
    [
        ("limit=0", 400, "query.limit"),
        ("limit=101", 400, "query.limit"),
        ("limit=ten", 400, "query.limit"),
        ("status=dead", 400, "query.status"),  # a job's status, not a run's
        ("status=", 400, "query.status"),
        ("customer_id=a%00b", 400, "query.customer_id"),
        ("name=a%0ab", 400, "query.name"),
        ("after=" + "x" * 65, 400, "query.after"),
        ("customer_id=no-such-customer", 404, "customer_id"),
    ],
)
async def test_admin_workflow_queries_are_checked(
    stack: Stack, query: str, status: int, param: str
) -> None:
    answer = await stack.client.get(f"/admin/v1/workflows?{query}", headers=stack.admin)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["param"] == param
    assert not _problems(answer)


async def test_admin_workflow_routes_want_the_admin_key(stack: Stack) -> None:
    for path in ["/admin/v1/workflows", "/admin/v1/workflows/wf_nope"]:
        for headers in [{}, {"authorization": ""}]:  # the customer's own key, then none
            answer = await stack.client.get(path, headers=headers)
            assert answer.status_code == 401, (path, headers, answer.text)
            assert answer.json()["error"]["code"] == "invalid_admin_key"
    missing = await stack.client.get("/admin/v1/workflows/wf_nope", headers=stack.admin)
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "run_id"
    listed = await stack.client.get("/admin/v1/workflows", headers=stack.admin)
    assert listed.json() == {"object": "list", "data": [], "has_more": False}


async def test_hostile_headers_on_a_good_submission(stack: Stack) -> None:
    for label, headers in corpus.HOSTILE_HEADERS.items():
        body = VALID_JOB | {"task_id": f"h-{label}"}
        await check(stack, label, "POST", "/v1/jobs", json=body, headers=headers)


async def test_unauthenticated_calls_are_401(stack: Stack) -> None:
    for method, path in [("POST", "/v1/jobs"), ("GET", "/v1/jobs"), ("GET", "/v1/workflows"),
                         ("POST", "/v1/workflows/document_analysis")]:  # fmt: skip
        response = await stack.client.request(method, path, json={}, headers={"authorization": ""})
        assert response.status_code == 401, (method, path)
