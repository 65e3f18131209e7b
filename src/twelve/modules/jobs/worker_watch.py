"""Workers watch each other: each says it is alive, and the jobs of one gone quiet are taken over.

DBOS resumes a worker's jobs in hand when a worker of the same name starts again (`twelve worker
--processes` restarts its children so). A machine that never comes back, or a pod replaced by one
of another name, would leave its jobs `running` for ever. So every worker writes a heartbeat
(`workers` table) and, in its reconciler, looks for workers not seen for `takeover_seconds`: their
pending workflows go back to their queues (DBOS's recovery: idempotent, and a re-queued workflow
is dequeued by exactly one live worker, which resumes it after its last finished step). A worker
that stops cleanly says so, and is taken over at the next reconcile.

The takeover time must be well above the heartbeat and any pause a live worker may have (a
database busy for long): a worker presumed dead while it still runs its jobs would run them
twice (each step's effect is still recorded once; a model call may be paid twice).
"""

from __future__ import annotations

import asyncio
import time

from twelve.kernel.telemetry.logging import get_logger
from twelve.modules.jobs.api import Worker, WorkerList
from twelve.modules.jobs.settings import JobsSettings
from twelve.modules.jobs.worker_rows import WorkerRows
from twelve.modules.jobs.workflow_engine import WorkflowEngine

log = get_logger("twelve.jobs.workers")


class WorkerWatch:
    def __init__(self, rows: WorkerRows, engine: WorkflowEngine, settings: JobsSettings) -> None:
        self.rows = rows
        self._engine = engine
        self._settings = settings
        self._beating: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.rows.beat(self._engine.executor_id)
        self._beating = asyncio.create_task(self._beat_forever())

    async def stop(self) -> None:
        """After the engine stopped: say so, so the others take over what it had in hand."""
        if self._beating is None:
            return
        self._beating.cancel()
        await asyncio.gather(self._beating, return_exceptions=True)
        self._beating = None
        try:
            await self.rows.beat(self._engine.executor_id, seen_at=0)
        except Exception as exc:  # it is then taken over after `takeover_seconds`
            log.warning("worker_stop_unrecorded", cause=f"{type(exc).__name__}: {exc}")

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat_seconds)
            try:
                await self.rows.beat(self._engine.executor_id)
            except Exception as exc:  # a database blip: the next beat tries again
                log.warning("worker_heartbeat_failed", cause=f"{type(exc).__name__}: {exc}")

    async def roster(self) -> WorkerList:
        since = time.time() - self._settings.takeover_seconds
        workers = []
        for row in await self.rows.all():
            seen = row["seen_at"] or None
            state = "stopped" if seen is None else "alive" if seen >= since else "silent"
            workers.append(Worker(**(row | {"seen_at": seen, "state": state})))
        return WorkerList(data=workers)

    async def take_over(self) -> None:
        """Put back on the queue the jobs in hand of every worker gone quiet."""
        since = time.time() - self._settings.takeover_seconds
        for name in await self.rows.quiet(since, besides=self._engine.executor_id):
            workflows = await self._engine.take_over(name)
            # Forgotten only after its workflows were re-queued: a takeover cut short is done
            # again at the next reconcile (re-queueing is idempotent).
            if await self.rows.forget(name, since):
                log.warning("worker_taken_over", worker=name, workflows=workflows)
