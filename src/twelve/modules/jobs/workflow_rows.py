"""The `workflow_runs` table: a run stored when started, its steps' states rewritten as each
step ends, its end written once (a conditional update on its status)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select, update

from twelve.kernel.db import Database
from twelve.modules.jobs.adapters.newest_first import newest_first
from twelve.modules.jobs.adapters.tables import workflow_runs as runs
from twelve.modules.jobs.api import (
    JobError,
    OwnedWorkflowPage,
    OwnedWorkflowRun,
    StepState,
    WorkflowPage,
    WorkflowRun,
    WorkflowStatus,
)

OPEN = ("queued", "running")


def run_of(row: Any) -> WorkflowRun:
    return WorkflowRun(
        id=row.id,
        name=row.name,
        status=row.status,
        partial=bool(row.partial),
        steps=[StepState.model_validate(s) for s in orjson.loads(row.steps)],
        result=orjson.loads(row.result) if row.result else None,
        error=JobError.model_validate_json(row.error) if row.error else None,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        callback_url=row.callback_url,
    )


def owned_run_of(row: Any) -> OwnedWorkflowRun:
    return OwnedWorkflowRun(**dict(run_of(row)), customer_id=row.customer_id, key_id=row.key_id)


class WorkflowRows:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, values: dict[str, Any]) -> None:
        async with self._db.write() as conn:
            await conn.execute(runs.insert().values(**values))

    async def row(self, run_id: str) -> Any:
        async with self._db.read() as conn:
            return (await conn.execute(select(runs).where(runs.c.id == run_id))).first()

    async def get(self, run_id: str, customer_id: str | None = None) -> WorkflowRun | None:
        row = await self.row(run_id)
        if row is None or (customer_id is not None and row.customer_id != customer_id):
            return None
        return run_of(row)

    async def get_owned(self, run_id: str) -> OwnedWorkflowRun | None:
        row = await self.row(run_id)
        return None if row is None else owned_run_of(row)

    async def set_step(self, run_id: str, index: int, state: StepState) -> None:
        """Rewrite step `index`'s state (one writer per run: its workflow)."""
        async with self._db.write() as conn:
            row = (await conn.execute(select(runs.c.steps).where(runs.c.id == run_id))).first()
            if row is None:
                return
            steps = orjson.loads(row.steps)
            steps[index] = state.model_dump(mode="json")
            await conn.execute(
                update(runs).where(runs.c.id == run_id).values(steps=orjson.dumps(steps).decode())
            )

    async def move(self, run_id: str, from_: tuple[str, ...], **values: Any) -> bool:
        async with self._db.write() as conn:
            done = await conn.execute(
                update(runs).where(runs.c.id == run_id, runs.c.status.in_(from_)).values(**values)
            )
        return done.rowcount == 1

    async def page(
        self, customer_id: str | None, status: WorkflowStatus | None, limit: int, after: str | None
    ) -> WorkflowPage:
        rows, more = await newest_first(self._db, runs, customer_id, status, limit, after)
        return WorkflowPage(data=[run_of(r) for r in rows], has_more=more)

    async def owned_page(
        self,
        customer_id: str | None,
        status: WorkflowStatus | None,
        name: str | None,
        limit: int,
        after: str | None,
    ) -> OwnedWorkflowPage:
        rows, more = await newest_first(
            self._db, runs, customer_id, status, limit, after, name=name
        )
        return OwnedWorkflowPage(data=[owned_run_of(r) for r in rows], has_more=more)
