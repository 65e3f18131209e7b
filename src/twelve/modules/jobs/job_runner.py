"""What each step of a job's workflow does: run an attempt through the executor, end the job once,
settle its credits once, tell its callback once.

Every write is conditional on the job's status and run (`JobRows.move`): a step run again after a
crash, or a step racing a cancellation, cannot end a job twice or overwrite what another wrote.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import TYPE_CHECKING, Any

import orjson

from twelve.kernel.errors import TwelveError
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import JOB_ATTEMPTS, JOBS_ENDED
from twelve.modules.events.api import EventsService, Notify
from twelve.modules.jobs.api import AttemptOutcome, ExecuteAttempt, JobError, JobExecutor
from twelve.modules.jobs.domain import OPEN, backoff_seconds
from twelve.modules.jobs.job_rows import JobRows
from twelve.modules.jobs.settings import JobsSettings

if TYPE_CHECKING:
    from twelve.modules.jobs.workflows_service import Workflows
from twelve.modules.storage.api import PutFile, StorageService

log = get_logger("twelve.jobs")

# Task types that run a workflow (its steps go through the executor one by one).
WORKFLOW_TASKS = frozenset({"document_analysis"})


def webhook_id(job_id: str, run: int) -> str:
    """Stable for every delivery of one run's end, so receivers can drop duplicates."""
    return f"msg_{job_id}" if run == 1 else f"msg_{job_id}.{run}"


class JobRunner:
    def __init__(
        self,
        rows: JobRows,
        settings: JobsSettings,
        executor: JobExecutor,
        storage: StorageService | None,
        events: EventsService | None,
    ) -> None:
        self.rows = rows
        self.settings = settings
        self.executor = executor
        self.storage = storage
        self.events = events
        self.loop: asyncio.AbstractEventLoop | None = None
        self.workflows: Workflows | None = None  # set by the module once both exist

    def backoff(self, attempt: int) -> float:
        s = self.settings
        return backoff_seconds(attempt, s.backoff_base_seconds, s.backoff_max_seconds)

    async def begin(self, job_id: str, run: int) -> dict[str, Any] | None:
        row = await self.rows.row(job_id)
        if row is None or row.run != run or row.status not in OPEN:
            return None
        return {"max_retries": row.max_retries}

    async def attempt(self, job_id: str, run: int, number: int) -> dict[str, Any] | None:
        if not await self.rows.start_attempt(job_id, run, number):
            return None  # cancelled, or replayed under a newer run
        row = await self.rows.row(job_id)
        work = ExecuteAttempt(
            job_id=job_id,
            attempt=number,
            key_id=row.key_id,
            customer_id=row.customer_id,
            task_type=row.task_type,
            parameters=orjson.loads(row.parameters),
            traceparent=row.traceparent,
        )
        try:
            outcome = await asyncio.wait_for(self._execute(work, row), row.timeout_seconds)
        except TimeoutError:
            outcome = AttemptOutcome(
                error=JobError(
                    message=f"The attempt took longer than {row.timeout_seconds:g} s.",
                    type="timeout",
                    code="job_timeout",
                    status=504,
                ),
                retryable=True,  # a fault of ours is not billed as unknown usage
            )
        except TwelveError as exc:  # the executor's own refusal (e.g. the key was revoked)
            outcome = AttemptOutcome(
                error=JobError(
                    message=exc.message, type=exc.type, code=exc.code, status=exc.status
                ),
            )
        except Exception as exc:  # a fault of ours: the attempt failed, the job must not hang
            log.exception("job_attempt_failed", job_id=job_id, attempt=number)
            outcome = AttemptOutcome(
                error=JobError(
                    message=f"The attempt failed inside Twelve ({type(exc).__name__}).",
                    type="server_error",
                    status=500,
                ),
                retryable=True,
                cost_known=False,
            )
        JOB_ATTEMPTS.labels(row.task_type, "ok" if outcome.error is None else "error").inc()
        cost: dict[str, Any] = {"cost_micros": row.cost_micros + outcome.cost_micros}
        if not outcome.cost_known:
            cost["cost_unknown"] = 1
        error = {} if outcome.error is None else {"last_error": outcome.error.model_dump_json()}
        if await self.rows.move(job_id, run, OPEN, **cost, **error):
            return outcome.model_dump(mode="json")
        # Cancelled while it ran: what the attempt cost is still the job's, charged at its end.
        await self.rows.move(job_id, run, ("cancelled",), **cost)
        return None

    async def _execute(self, work: ExecuteAttempt, row: Any) -> AttemptOutcome:
        if work.task_type not in WORKFLOW_TASKS or self.workflows is None:
            return await self.executor.execute(work)
        # The run's id follows from the job's, so an attempt run again finds it, not a second.
        ended = await self.workflows.run_to_end(
            f"wf_{work.job_id}.{row.run}.{work.attempt}",
            work.task_type,
            work.parameters,
            work.customer_id,
            work.key_id,
            work.traceparent,
        )
        result = ended.model_dump(mode="json")
        if ended.status in ("failed", "compensated"):
            error = ended.error or JobError(
                message=f"The workflow {ended.status}.", type="workflow"
            )
            return AttemptOutcome(result=result, error=error)
        return AttemptOutcome(result=result)

    async def finish(self, job_id: str, run: int, outcome: dict[str, Any] | None) -> str:
        row = await self.rows.row(job_id)
        if row is None or row.run != run:
            return "stale"
        ended = AttemptOutcome.model_validate(outcome) if outcome is not None else None
        if row.status in OPEN and ended is not None:
            values: dict[str, Any] = {"finished_at": int(time.time())}
            if ended.error is None:
                values["status"] = "succeeded"
                values["last_error"] = None
                values.update(await self._result(row, ended.result or {}, ended.content_b64))
            else:
                values["status"] = "dead" if ended.retryable else "failed"
            if row.callback_url:
                values["webhook_id"] = webhook_id(job_id, run)
            if await self.rows.move(job_id, run, OPEN, **values):
                JOBS_ENDED.labels(row.task_type, values["status"]).inc()
        await self.settle(job_id, row.hold_id)
        final = await self.rows.row(job_id)
        return str(final.status)

    async def settle(self, job_id: str, hold_id: str | None) -> None:
        """Charge the job's hold for what its attempts cost (all of it when a cost is unknown);
        the credits module applies one settlement per hold, so a second call changes nothing."""
        if hold_id is None:
            return
        row = await self.rows.row(job_id)
        await self.executor.settle(hold_id, None if row.cost_unknown else row.cost_micros)

    async def _result(
        self, row: Any, result: dict[str, Any], content_b64: str | None = None
    ) -> dict[str, Any]:
        if content_b64 is not None:  # bytes: a file (the feature module may have stored it)
            file_id = result.get("file_id")
            if file_id is None and self.storage is not None:
                stored = await self.storage.put_file(
                    PutFile(
                        customer_id=row.customer_id,
                        filename=f"{row.id}.bin",
                        purpose="job_result",
                        idempotency_key=f"job_result:{row.id}:{row.run}",
                        content_type=str(result.get("content_type") or "application/octet-stream"),
                        content=content_b64.encode(),
                    )
                )
                file_id = stored.id
            return {"result": orjson.dumps(result).decode(), "result_file_id": file_id}
        encoded = orjson.dumps(result)
        if len(encoded) <= self.settings.inline_result_bytes or self.storage is None:
            return {"result": encoded.decode()}
        stored = await self.storage.put_file(
            PutFile(
                customer_id=row.customer_id,
                filename=f"{row.id}.json",
                purpose="job_result",
                idempotency_key=f"job_result:{row.id}:{row.run}",
                content_type="application/json",
                content=base64.b64encode(encoded),
            )
        )
        return {"result": None, "result_file_id": stored.id}

    async def notify(self, job_id: str, run: int) -> None:
        job = await self.rows.get(job_id)
        row = await self.rows.row(job_id)
        if job is None or row.run != run or not job.callback_url or self.events is None:
            return
        if job.status in OPEN or job.webhook_id is None:
            return
        await self.events.notify(
            Notify(
                customer_id=row.customer_id,
                url=job.callback_url,
                event_type=f"job.{job.status}",
                data=job.model_dump(mode="json"),
                webhook_id=job.webhook_id,
                traceparent=row.traceparent,
            )
        )
