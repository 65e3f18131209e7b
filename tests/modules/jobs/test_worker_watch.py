"""Workers' heartbeats on SQLite and PostgreSQL: a worker gone quiet, or one that stopped cleanly,
is taken over by another (its workflows re-queued, then its row forgotten), never itself, and
never a worker that came back meanwhile."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from tests.databases import module_database
from twelve.modules.jobs.settings import JobsSettings
from twelve.modules.jobs.worker_rows import WorkerRows
from twelve.modules.jobs.worker_watch import WorkerWatch
from twelve.modules.jobs.workflow_engine import WorkflowEngine


class Engine:
    """The engine's side of a takeover: which executors were declared dead."""

    def __init__(self, executor_id: str) -> None:
        self.executor_id = executor_id
        self.taken: list[str] = []

    async def take_over(self, executor_id: str) -> int:
        self.taken.append(executor_id)
        return 2


@pytest.fixture
async def rows(backend: str, tmp_path: Path) -> AsyncIterator[WorkerRows]:
    async with module_database("jobs", backend, tmp_path) as db:
        yield WorkerRows(db)


def watch(rows: WorkerRows, name: str) -> tuple[WorkerWatch, Engine]:
    engine = Engine(name)
    settings = JobsSettings(heartbeat_seconds=60, takeover_seconds=600)
    return WorkerWatch(rows, cast(WorkflowEngine, engine), settings), engine


async def test_a_worker_quiet_past_the_takeover_time_is_taken_over_once(rows: WorkerRows) -> None:
    await rows.beat("old", seen_at=time.time() - 3600)
    await rows.beat("fresh")
    alive, engine = watch(rows, "alive")
    await alive.start()
    try:
        states = {w.name: w.state for w in (await alive.roster()).data}
        assert states == {"old": "silent", "fresh": "alive", "alive": "alive"}
        await alive.take_over()
        assert engine.taken == ["old"]
        assert {r["name"] for r in await rows.all()} == {"fresh", "alive"}
        await alive.take_over()  # nothing quiet is left
        assert engine.taken == ["old"]
    finally:
        await alive.stop()


async def test_a_clean_stop_is_taken_over_at_once(rows: WorkerRows) -> None:
    leaving, _ = watch(rows, "leaving")
    staying, engine = watch(rows, "staying")
    await leaving.start()
    await staying.start()
    await staying.take_over()
    assert engine.taken == []  # a live worker is never taken over
    await leaving.stop()
    row: dict[str, Any] = next(r for r in await rows.all() if r["name"] == "leaving")
    assert row["seen_at"] == 0
    states = {w.name: (w.state, w.seen_at) for w in (await staying.roster()).data}
    assert states["leaving"] == ("stopped", None) and states["staying"][0] == "alive"
    await staying.take_over()  # long before `takeover_seconds`
    assert engine.taken == ["leaving"]
    await staying.stop()


async def test_a_worker_that_came_back_is_not_forgotten(rows: WorkerRows) -> None:
    since = time.time() - 10
    await rows.beat("back", seen_at=since - 1)
    assert await rows.quiet(since, besides="me") == ["back"]
    await rows.beat("back")  # it beat again between the look and the forgetting
    assert not await rows.forget("back", since)
    assert [r["name"] for r in await rows.all()] == ["back"]


def test_the_takeover_time_must_cover_three_heartbeats() -> None:
    with pytest.raises(ValueError, match="three heartbeats"):
        JobsSettings(heartbeat_seconds=10, takeover_seconds=20)
