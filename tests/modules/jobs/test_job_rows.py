"""The jobs table on SQLite and PostgreSQL: a job reaches one terminal status once, whatever
races it (a re-run step, a cancellation, a replay's newer run), and a customer sees only theirs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.databases import module_database
from twelve.modules.jobs.job_rows import JobRows


@pytest.fixture
async def rows(backend: str, tmp_path: Path) -> AsyncIterator[JobRows]:
    async with module_database("jobs", backend, tmp_path) as db:
        yield JobRows(db)


def job(job_id: str, customer: str = "cus_a", task_id: str | None = None) -> dict[str, Any]:
    return {
        "id": job_id, "customer_id": customer, "key_id": "key_1", "task_id": task_id,
        "task_type": "chat_completion", "priority": "standard", "status": "queued",
        "model": "echo", "parameters": "{}", "callback_url": None, "max_retries": 2,
        "timeout_seconds": 10.0, "attempts": 0, "run": 1, "hold_id": None, "traceparent": None,
        "created_at": int(time.time()), "client_created_at": None, "cost_micros": 0,
        "cost_unknown": 0,
    }  # fmt: skip


async def test_a_task_id_is_one_job_per_customer(rows: JobRows) -> None:
    first, new = await rows.add(job("job_1", task_id="t"))
    again, again_new = await rows.add(job("job_2", task_id="t"))
    other, other_new = await rows.add(job("job_3", customer="cus_b", task_id="t"))
    assert new and not again_new and other_new
    assert again.id == first.id == "job_1" and other.id == "job_3"


async def test_a_job_ends_once_however_its_steps_race(rows: JobRows) -> None:
    await rows.add(job("job_1"))
    assert await rows.start_attempt("job_1", 1, 1)
    assert await rows.move("job_1", 1, ("queued", "running"), status="succeeded")
    # A step re-run after a crash, or a cancellation that came second, changes nothing.
    assert not await rows.move("job_1", 1, ("queued", "running"), status="dead")
    assert not await rows.start_attempt("job_1", 1, 2)
    found = await rows.get("job_1")
    assert found is not None and found.status == "succeeded" and found.attempts == 1


async def test_a_stale_run_cannot_touch_a_replayed_job(rows: JobRows) -> None:
    await rows.add(job("job_1"))
    assert await rows.move("job_1", 1, ("queued", "running"), status="dead")
    assert await rows.move("job_1", 1, ("dead",), status="queued", run=2, attempts=0)
    assert not await rows.start_attempt("job_1", 1, 3)  # the dead run's workflow, resumed
    assert await rows.start_attempt("job_1", 2, 1)


async def test_pages_are_per_customer_newest_first(rows: JobRows) -> None:
    for n in range(5):
        await rows.add(job(f"job_{n}") | {"created_at": 1000 + n})
    await rows.add(job("job_x", customer="cus_b"))
    first = await rows.page("cus_a", None, 2, None)
    assert [j.id for j in first.data] == ["job_4", "job_3"] and first.has_more
    rest = await rows.page("cus_a", None, 10, first.data[-1].id)
    assert [j.id for j in rest.data] == ["job_2", "job_1", "job_0"] and not rest.has_more
    assert (await rows.page("cus_b", None, 10, "job_4")).data == []  # not their cursor
    assert await rows.get("job_x", "cus_a") is None


async def test_counts_are_by_status_and_priority(rows: JobRows, backend: str) -> None:
    await rows.add(job("job_1"))
    await rows.add(job("job_2") | {"priority": "high"})
    await rows.start_attempt("job_2", 1, 1)
    assert await rows.counts() == {("queued", "standard"): 1, ("running", "high"): 1}
