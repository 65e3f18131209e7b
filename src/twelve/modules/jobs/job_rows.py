"""The `jobs` table: a job stored when submitted, moved forward by its workflow's steps.

Every move is a conditional update on the job's status (and run), so a step that runs again
after a crash, or a cancellation racing a worker, changes a job at most once: a job reaches one
terminal status, once.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from twelve.kernel.db import Database
from twelve.kernel.unit_of_work import OutboxWriter, UnitOfWork
from twelve.modules.jobs.adapters.newest_first import newest_first
from twelve.modules.jobs.adapters.tables import jobs
from twelve.modules.jobs.api import Job, JobError, JobPage, JobStatus
from twelve.modules.jobs.domain import OPEN


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        task_id=row.task_id,
        task_type=row.task_type,
        priority=row.priority,
        status=row.status,
        model=row.model,
        attempts=row.attempts,
        max_retries=row.max_retries,
        timeout_seconds=row.timeout_seconds,
        callback_url=row.callback_url,
        created_at=row.created_at,
        client_created_at=row.client_created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        result=orjson.loads(row.result) if row.result is not None else None,
        result_file_id=row.result_file_id,
        last_error=JobError.model_validate_json(row.last_error) if row.last_error else None,
        webhook_id=row.webhook_id,
        cost_micros=row.cost_micros,
    )


class JobRows:
    """`outbox`: the module's outbox hook; each job stored and each status it moves to is
    published (`job.queued`, `job.running`, `job.succeeded`, …) in the same transaction."""

    def __init__(self, database: Database, outbox: OutboxWriter | None = None) -> None:
        self._db = database
        self._outbox = outbox

    async def add(self, values: dict[str, Any]) -> tuple[Job, bool]:
        """Store a new job; (the stored one, False) when the customer's task_id is taken."""
        try:
            async with UnitOfWork(self._db, outbox=self._outbox) as uow:
                await uow.connection.execute(jobs.insert().values(**values))
                self._publish(uow, values["id"], values["run"], values["status"])
        except IntegrityError:
            found = await self.by_task(values["customer_id"], values["task_id"])
            if found is None:  # pragma: no cover - nothing deletes jobs
                raise
            return found, False
        stored = await self.get(values["id"])
        assert stored is not None
        return stored, True

    def _publish(self, uow: UnitOfWork, job_id: str, run: int, status: str) -> None:
        if self._outbox is not None:  # a table without an outbox (store tests) publishes nothing
            uow.publish({"type": f"job.{status}", "job_id": job_id, "run": run})

    async def by_task(self, customer_id: str, task_id: str | None) -> Job | None:
        if task_id is None:
            return None
        query = select(jobs).where(jobs.c.customer_id == customer_id, jobs.c.task_id == task_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _job(row)

    async def get(self, job_id: str, customer_id: str | None = None) -> Job | None:
        row = await self.row(job_id)
        if row is None or (customer_id is not None and row.customer_id != customer_id):
            return None
        return _job(row)

    async def row(self, job_id: str) -> Any:
        async with self._db.read() as conn:
            return (await conn.execute(select(jobs).where(jobs.c.id == job_id))).first()

    async def page(
        self, customer_id: str | None, status: JobStatus | None, limit: int, after: str | None
    ) -> JobPage:
        rows, more = await newest_first(self._db, jobs, customer_id, status, limit, after)
        return JobPage(data=[_job(r) for r in rows], has_more=more)

    async def counts(self) -> dict[tuple[str, str], int]:
        """(status, priority) -> jobs, for queued and running ones."""
        query = (
            select(jobs.c.status, jobs.c.priority, func.count())
            .where(jobs.c.status.in_(OPEN))
            .group_by(jobs.c.status, jobs.c.priority)
        )
        async with self._db.read() as conn:
            return {(s, p): n for s, p, n in (await conn.execute(query)).all()}

    async def queued_ids(self, older_than: int) -> list[str]:
        query = select(jobs.c.id).where(jobs.c.status == "queued", jobs.c.created_at < older_than)
        async with self._db.read() as conn:
            return list((await conn.execute(query.limit(1000))).scalars())

    async def move(
        self, job_id: str, run: int, from_: tuple[JobStatus, ...], /, **values: Any
    ) -> bool:
        """Set `values` if the job is in run `run` and in one of `from_`; whether it was."""
        async with UnitOfWork(self._db, outbox=self._outbox) as uow:
            done = await uow.connection.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.run == run, jobs.c.status.in_(from_))
                .values(**values)
            )
            if done.rowcount == 1 and "status" in values:
                self._publish(uow, job_id, values.get("run", run), values["status"])
        return done.rowcount == 1

    async def start_attempt(self, job_id: str, run: int, attempt: int) -> bool:
        now = int(time.time())
        async with UnitOfWork(self._db, outbox=self._outbox) as uow:
            done = await uow.connection.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.run == run, jobs.c.status.in_(OPEN))
                .values(
                    status="running",
                    attempts=attempt,
                    started_at=func.coalesce(jobs.c.started_at, now),
                )
            )
            if done.rowcount == 1 and attempt == 1:
                self._publish(uow, job_id, run, "running")
        return done.rowcount == 1
