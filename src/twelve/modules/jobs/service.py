"""The jobs service: submit, read, cancel and replay jobs; the queue's depth and its admission.

Submission checks everything before anything is kept: the callback URL (events), the parameters
against the task's endpoint and the key's allow-list, and the credit hold for the worst case (the
executor). Only then is the job stored and its workflow enqueued. A crash between the two leaves a
queued job with no workflow: the reconciler of every serving process enqueues it again (an id
enqueued twice starts once).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import orjson

from twelve.kernel.errors import Conflict, InvalidRequest, NotFound, TwelveError
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import JOBS_SUBMITTED, QUEUE_DEPTH
from twelve.modules.events.api import EventsService
from twelve.modules.jobs.api import (
    Job,
    JobError,
    JobExecutor,
    JobPage,
    JobStatus,
    Prepared,
    PrepareJob,
    QueueDepth,
    SubmitJob,
    WorkerList,
)
from twelve.modules.jobs.domain import OPEN, TERMINAL
from twelve.modules.jobs.job_rows import JobRows
from twelve.modules.jobs.job_runner import WORKFLOW_TASKS, JobRunner, webhook_id
from twelve.modules.jobs.job_workflow import run_job
from twelve.modules.jobs.settings import JobsSettings
from twelve.modules.jobs.worker_watch import WorkerWatch
from twelve.modules.jobs.workflow_engine import WorkflowEngine

log = get_logger("twelve.jobs")
# How often a serving process resumes a workflow that raised before it fails its job.
RESUMES = 3


class QueueFull(TwelveError):
    status = 429
    type = "rate_limit_error"
    code = "queue_full"
    kind = "rate_limit"


class Jobs:
    def __init__(
        self,
        rows: JobRows,
        engine: WorkflowEngine,
        runner: JobRunner,
        settings: JobsSettings,
        events: EventsService | None,
        watch: WorkerWatch,
    ) -> None:
        self.rows = rows
        self.engine = engine
        self.watch = watch
        self.runner = runner
        self._settings = settings
        self._events = events
        self._depth: tuple[float, QueueDepth] | None = None
        self._reconciler: asyncio.Task[None] | None = None
        self._resumed: dict[str, int] = {}  # workflow id -> times resumed by this process

    @property
    def _executor(self) -> JobExecutor:
        return self.runner.executor

    async def submit(
        self, command: SubmitJob, customer_id: str, key_id: str, traceparent: str | None = None
    ) -> Job:
        found = await self.rows.by_task(customer_id, command.task_id)
        if found is not None:
            return found
        depth = await self.queue_depth(fresh=False)
        if depth.high + depth.standard + depth.low >= depth.limit:
            raise QueueFull(
                f"The job queue is full ({depth.limit} jobs waiting); try again later.",
                headers={"Retry-After": "5"},
            )
        if command.callback_url is not None:
            await self._check_callback(command.callback_url)
        job_id = "job_" + secrets.token_hex(12)
        prepared = await self._prepare(
            PrepareJob(
                job_id=job_id,
                key_id=key_id,
                customer_id=customer_id,
                task_type=command.task_type,
                parameters=command.parameters,
                hold_seconds=self._settings.hold_seconds,
            )
        )
        values: dict[str, Any] = {
            "id": job_id,
            "customer_id": customer_id,
            "key_id": key_id,
            "task_id": command.task_id,
            "task_type": command.task_type,
            "priority": command.priority,
            "status": "queued",
            "model": prepared.model,
            "parameters": orjson.dumps(prepared.parameters).decode(),
            "callback_url": command.callback_url,
            "max_retries": command.max_retries,
            "timeout_seconds": command.timeout_seconds,
            "attempts": 0,
            "run": 1,
            "hold_id": prepared.hold_id,
            "traceparent": traceparent,
            "created_at": int(time.time()),
            "client_created_at": command.created_at,
            "cost_micros": 0,
            "cost_unknown": 0,
        }
        try:
            job, new = await self.rows.add(values)
        except BaseException:
            await self._release(prepared.hold_id)
            raise
        if not new:  # the same task_id won a race with this submission
            await self._release(prepared.hold_id)
            return job
        JOBS_SUBMITTED.labels(command.task_type, command.priority).inc()
        self._depth = None
        await self.engine.enqueue(run_job, job_id, 1, command.priority)
        return job

    async def _prepare(self, command: PrepareJob) -> Prepared:
        """A workflow's job is checked by the workflow (its steps hold credits as they run); a
        model task by the executor, which holds the job's worst case."""
        workflows = self.runner.workflows
        if command.task_type in WORKFLOW_TASKS and workflows is not None:
            request = await workflows.check_request(
                command.task_type, command.parameters, command.customer_id
            )
            return Prepared(parameters=request, model=None, hold_id=None)
        return await self._executor.prepare(command)

    async def _check_callback(self, url: str) -> None:
        if self._events is None:
            raise InvalidRequest(
                "callback_url needs the events module, which this deployment does not run.",
                param="callback_url",
            )
        await self._events.check_callback(url)

    async def _release(self, hold_id: str | None) -> None:
        if hold_id is not None:
            await self._executor.release(hold_id)

    async def get_job(self, job_id: str, customer_id: str | None = None) -> Job | None:
        return await self.rows.get(job_id, customer_id)

    async def list_jobs(
        self,
        customer_id: str | None = None,
        status: JobStatus | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> JobPage:
        if not 1 <= limit <= 100:
            raise InvalidRequest("limit must be between 1 and 100.", param="limit")
        return await self.rows.page(customer_id, status, limit, after)

    async def cancel(self, job_id: str, customer_id: str | None = None) -> Job:
        job = await self.rows.get(job_id, customer_id)
        if job is None:
            raise NotFound(f"No such job: {job_id!r}.", param="job_id")
        if job.status in TERMINAL:
            return job
        row = await self.rows.row(job_id)
        values: dict[str, Any] = {"status": "cancelled", "finished_at": int(time.time())}
        if row.callback_url:
            values["webhook_id"] = webhook_id(job_id, row.run)
        if await self.rows.move(job_id, row.run, ("queued",), **values):
            # No attempt has run: the workflow is stopped and the whole hold goes back.
            await self.engine.cancel(job_id, row.run)
            await self.runner.settle(job_id, row.hold_id)
            await self.runner.notify(job_id, row.run)
        elif await self.rows.move(job_id, row.run, ("running",), **values):
            # An attempt may be in flight, and the upstream bills it: the workflow is left to
            # run it out, record what it cost, start no other and settle the hold at its end.
            await self.runner.notify(job_id, row.run)
        ended = await self.rows.get(job_id)
        assert ended is not None
        return ended

    async def retry(self, job_id: str) -> Job:
        row = await self.rows.row(job_id)
        if row is None:
            raise NotFound(f"No such job: {job_id!r}.", param="job_id")
        if row.status not in ("dead", "failed"):
            raise Conflict(
                f"Job {job_id} is {row.status}; only dead or failed jobs can be retried.",
                param="job_id",
            )
        run = row.run + 1
        prepared = await self._prepare(
            PrepareJob(
                job_id=f"{job_id}.{run}",
                key_id=row.key_id,
                customer_id=row.customer_id,
                task_type=row.task_type,
                parameters=orjson.loads(row.parameters),
                hold_seconds=self._settings.hold_seconds,
            )
        )
        moved = await self.rows.move(
            job_id,
            row.run,
            ("dead", "failed"),
            run=run,
            status="queued",
            attempts=0,
            hold_id=prepared.hold_id,
            started_at=None,
            finished_at=None,
            result=None,
            result_file_id=None,
            last_error=None,
            cost_micros=0,
            cost_unknown=0,
            webhook_id=None,
        )
        if not moved:
            await self._release(prepared.hold_id)
            raise Conflict(f"Job {job_id} changed meanwhile; try again.", param="job_id")
        self._depth = None
        await self.engine.enqueue(run_job, job_id, run, row.priority)
        job = await self.rows.get(job_id)
        assert job is not None
        return job

    async def workers(self) -> WorkerList:
        return await self.watch.roster()

    async def queue_depth(self, fresh: bool = True) -> QueueDepth:
        """Queued jobs by priority; counted at most every half second on the submit path."""
        now = time.monotonic()
        if not fresh and self._depth is not None and now - self._depth[0] < 0.5:
            return self._depth[1]
        counts = await self.rows.counts()
        depth = QueueDepth(
            high=counts.get(("queued", "high"), 0),
            standard=counts.get(("queued", "standard"), 0),
            low=counts.get(("queued", "low"), 0),
            running=sum(n for (s, _p), n in counts.items() if s == "running"),
            limit=self._settings.max_queue_depth,
        )
        self._depth = (now, depth)
        for priority in ("high", "standard", "low"):
            QUEUE_DEPTH.labels(priority).set(getattr(depth, priority))
        QUEUE_DEPTH.labels("running").set(depth.running)
        return depth

    async def start_serving(self) -> None:
        """Launch the engine where this process works the queue, and the reconciler."""
        self.runner.loop = asyncio.get_running_loop()
        if self._settings.worker:
            await self.engine.launch()
            await self.watch.start()
        self._reconciler = asyncio.create_task(self._reconcile_forever())

    async def stop(self) -> None:
        if self._reconciler is not None:
            self._reconciler.cancel()
            await asyncio.gather(self._reconciler, return_exceptions=True)
        await self.engine.stop()
        await self.watch.stop()

    async def _reconcile_forever(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception as exc:  # a database blip must not end the loop
                log.warning("jobs_reconcile_failed", cause=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self._settings.reconcile_seconds)

    async def reconcile(self) -> None:
        await self.queue_depth()
        if not self.engine.launched:
            return
        await self._resume_errored()
        await self.watch.take_over()
        for job_id in await self.rows.queued_ids(older_than=int(time.time()) - 10):
            row = await self.rows.row(job_id)
            if row is None or row.status != "queued":
                continue
            if not await self.engine.exists(job_id, row.run):
                log.warning("job_requeued", job_id=job_id)
                await self.engine.enqueue(run_job, job_id, row.run, row.priority)

    async def _resume_errored(self) -> None:
        """A job or run whose workflow raised (a step failed past its retries: a database busy
        for long, a bug) is resumed from its last finished step, a few times; after that it
        fails, so nothing stays `running` for ever."""
        for name in ("twelve.jobs.run", "twelve.workflows.run"):
            for key in await self.engine.errored(name):
                tries = self._resumed.get(key, 0)
                if tries < RESUMES:
                    self._resumed[key] = tries + 1
                    log.warning("workflow_resumed", workflow_id=key, times=tries + 1)
                    await self.engine.resume(key)
                elif tries == RESUMES:
                    self._resumed[key] = tries + 1
                    await self._give_up(name, key)

    async def _give_up(self, name: str, key: str) -> None:
        error = JobError(
            message="The job failed inside Twelve; an admin can retry it.", type="server_error"
        ).model_dump_json()
        if name == "twelve.jobs.run":
            job_id, _, run = key.partition(".")
            row = await self.rows.row(job_id)
            if row is None:
                return
            finished = int(time.time())
            await self.rows.move(
                job_id, int(run or 1), OPEN, status="failed", last_error=error, finished_at=finished
            )
            # Once per hold whoever asks: also a job cancelled while running, whose workflow
            # was to settle it.
            await self.runner.settle(job_id, row.hold_id)
        elif self.runner.workflows is not None:
            await self.runner.workflows.rows.move(
                key, ("queued", "running"), status="failed", error=error,
                finished_at=int(time.time()),
            )  # fmt: skip
