"""DBOS Transact, as the jobs module uses it: one durable queue of job workflows per deployment.

DBOS is a process-wide singleton: it is configured and launched once per serving process (lazily,
on the first job or when this process works the queue) and destroyed at stop, so the next app in
the same process (tests) starts clean. Its system database is a SQLite file in the data directory
by default, in WAL mode so that several worker processes on one machine share it; a PostgreSQL
URL spreads workers over machines.

A worker's `executor_id` names its work in DBOS: a worker restarted under the same id resumes the
workflows it had in hand (a SIGKILLed worker loses nothing). Every job is one workflow whose id is
the job's id (a replay's is `<job id>.<run>`): enqueuing an id twice starts it once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sqlite3
from pathlib import Path
from typing import Any

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID

from twelve.modules.jobs.api import Priority
from twelve.modules.jobs.domain import PRIORITY_RANK
from twelve.modules.jobs.settings import JobsSettings

QUEUE = "twelve-jobs"
# Workflow runs have a queue of their own: a job that runs a workflow waits for it, and must not
# hold the slot its workflow needs.
WORKFLOW_QUEUE = "twelve-workflows"


def workflow_id(job_id: str, run: int) -> str:
    return job_id if run == 1 else f"{job_id}.{run}"


def system_database_url(settings: JobsSettings, data_dir: Path) -> str:
    if settings.system_database_url:
        return settings.system_database_url
    return f"sqlite:///{(data_dir / 'jobs-dbos.sqlite').resolve()}"


def _wal(url: str) -> None:
    """WAL mode is kept by the file: set once, every process that opens it gets it."""
    if not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=30) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


class WorkflowEngine:
    def __init__(self, settings: JobsSettings, data_dir: Path, executor_id: str) -> None:
        self._settings = settings
        self._url = system_database_url(settings, data_dir)
        self._executor_id = executor_id
        self._launched = False
        self._lock = asyncio.Lock()
        self._queues: dict[str, Any] = {}

    @property
    def launched(self) -> bool:
        return self._launched

    @property
    def executor_id(self) -> str:
        return self._executor_id

    async def launch(self) -> None:
        """Configure and launch DBOS once; workflows this executor left pending resume now."""
        if self._launched:
            return
        async with self._lock:
            if self._launched:
                return
            # Off the event loop: the first launch on a PostgreSQL database migrates DBOS's schema
            # with CREATE INDEX CONCURRENTLY, which waits for every open transaction there,
            # this process's own too; with the loop blocked those could never end.
            await asyncio.to_thread(self._launch_dbos)
            for name in (QUEUE, WORKFLOW_QUEUE):
                self._queues[name] = await DBOS.register_queue_async(
                    name,
                    worker_concurrency=self._settings.concurrency,
                    polling_interval_sec=self._settings.poll_seconds,
                    on_conflict="always_update",
                )
            self._launched = True

    def _launch_dbos(self) -> None:
        _wal(self._url)
        # DBOS logs every launch and workflow at INFO; the process's own logs say enough.
        logging.getLogger("dbos").setLevel(logging.WARNING)
        DBOS(
            config={
                "name": "twelve",
                "system_database_url": self._url,
                "sys_db_pool_size": self._settings.system_pool_size,
                "executor_id": self._executor_id,
                "log_level": "WARNING",
                "application_version": "twelve-jobs-1",
                "notification_listener_polling_interval_sec": 0.1,
            }
        )
        if not self._settings.worker:
            DBOS.listen_queues([])  # this process enqueues; workers dequeue
        DBOS.launch()

    async def enqueue(self, workflow: Any, job_id: str, run: int, priority: Priority) -> None:
        await self.start(workflow, workflow_id(job_id, run), priority, job_id, run)

    async def start(
        self, workflow: Any, key: str, priority: Priority, *args: Any, queue: str = QUEUE
    ) -> None:
        """Enqueue `workflow(*args)` under the workflow id `key` (once, however often asked).

        Enqueued from a clean context: a job's step that starts a workflow run (document
        analysis as a job) must enqueue it as a client would, not as DBOS's child of a step
        (which DBOS refuses)."""
        await self.launch()

        async def enqueue() -> None:
            with SetWorkflowID(key), SetEnqueueOptions(priority=PRIORITY_RANK[priority]):
                await self._queues[queue].enqueue_async(workflow, *args)

        await asyncio.create_task(enqueue(), context=contextvars.Context())

    async def exists(self, job_id: str, run: int) -> bool:
        await self.launch()
        return await DBOS.get_workflow_status_async(workflow_id(job_id, run)) is not None

    async def errored(self, name: str, limit: int = 100) -> list[str]:
        """Ids of `name` workflows whose run raised (a step's retries spent): resumable."""
        await self.launch()
        found = await DBOS.list_workflows_async(
            status="ERROR", name=name, limit=limit, load_input=False, load_output=False
        )
        return [w.workflow_id for w in found]

    async def resume(self, key: str) -> None:
        """Run a workflow that raised again from its last finished step."""
        await asyncio.create_task(DBOS.resume_workflow_async(key), context=contextvars.Context())

    async def take_over(self, executor_id: str) -> int:
        """Re-queue the pending workflows of executor `executor_id` (presumed dead): how many."""
        await self.launch()
        # DBOS's own recovery (what its admin endpoint runs for a dead executor): each workflow
        # goes back to its queue only while it is still that executor's and pending.
        handles = await asyncio.to_thread(DBOS._recover_pending_workflows, [executor_id])
        return len(handles)

    async def cancel(self, job_id: str, run: int) -> None:
        await self.launch()
        if await self.exists(job_id, run):
            await DBOS.cancel_workflow_async(workflow_id(job_id, run))

    async def stop(self) -> None:
        if not self._launched:
            return
        self._launched = False
        # Jobs in hand stop at their next step; a worker started under this id resumes them.
        await asyncio.to_thread(DBOS.destroy, destroy_registry=False)
