"""Admin routes for jobs, under the admin router (`/admin/v1`, the admin key): every customer's
jobs, the dead letters, their replay, the queue's depth and the workers working it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from twelve.kernel.errors import NotFound
from twelve.modules.jobs.api import Job, JobPage, JobsService, JobStatus, QueueDepth, WorkerList


def job_router(jobs: JobsService) -> APIRouter:
    router = APIRouter()

    @router.get("/jobs", description="Jobs of every customer, newest first.")
    async def list_jobs(
        status: JobStatus | None = None,
        customer_id: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        after: Annotated[str | None, Query(max_length=64)] = None,
    ) -> JobPage:
        return await jobs.list_jobs(customer_id, status, limit, after)

    @router.get("/jobs/dead", description="The dead letters: jobs whose attempts ran out.")
    async def dead_jobs(
        limit: Annotated[int, Query(ge=1, le=100)] = 100,
        after: Annotated[str | None, Query(max_length=64)] = None,
    ) -> JobPage:
        return await jobs.list_jobs(None, "dead", limit, after)

    @router.get("/jobs/queue", description="Queued jobs by priority, those running, the limit.")
    async def queue_depth() -> QueueDepth:
        return await jobs.queue_depth()

    @router.get(
        "/jobs/workers",
        description="The processes working the queue and their last heartbeat: `alive`, "
        "`silent` (its jobs are being handed to the others) or `stopped`.",
    )
    async def workers() -> WorkerList:
        return await jobs.workers()

    @router.get("/jobs/{job_id}")
    async def get_job(job_id: str) -> Job:
        job = await jobs.get_job(job_id)
        if job is None:
            raise NotFound(f"No such job: {job_id[:64]!r}.", param="job_id")
        return job

    @router.post(
        "/jobs/{job_id}/retry",
        description="Run a dead or failed job again from its first attempt (a fresh credit hold).",
    )
    async def retry_job(job_id: str) -> Job:
        return await jobs.retry(job_id)

    @router.post("/jobs/{job_id}/cancel")
    async def cancel_job(job_id: str) -> Job:
        return await jobs.cancel(job_id)

    return router
