"""What each step of a workflow run does: fill its input, call the model (and its fallbacks)
through the executor, or store or notify; record the step's state; compensate; end the run once.

A model step is not prepaid: it is held and settled like any request under the run's key. A step
whose attempt fails records its error and stays `running` until the workflow decides (retry,
policy); the workflow's DBOS steps call these methods, so each finished step is recorded once.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import orjson

from twelve.kernel.errors import TwelveError
from twelve.kernel.telemetry.tracing import continued, traceparent_now, tracer
from twelve.modules.events.api import EventsService, Notify
from twelve.modules.jobs.adapters.http_call import HttpCall
from twelve.modules.jobs.api import ExecuteAttempt, JobError, JobExecutor, StepState
from twelve.modules.jobs.workflow_definitions import StepDefinition, WorkflowDefinition
from twelve.modules.jobs.workflow_inputs import fill
from twelve.modules.jobs.workflow_rows import OPEN, WorkflowRows
from twelve.modules.storage.api import PutFile, StorageService

_TRACER = tracer(__name__)


class StepFailed(Exception):
    def __init__(self, error: JobError) -> None:
        super().__init__(error.message)
        self.error = error


def _error(exc: BaseException) -> JobError:
    if isinstance(exc, StepFailed):
        return exc.error
    if isinstance(exc, TwelveError):
        return JobError(message=exc.message, type=exc.type, code=exc.code, status=exc.status)
    if isinstance(exc, TimeoutError):
        return JobError(message="The step timed out.", type="timeout", code="step_timeout",
                        status=504)  # fmt: skip
    return JobError(message=f"{type(exc).__name__}: {exc}", type="server_error")


def _budget_left(request: dict[str, Any], spent: int, step: StepDefinition) -> int | None:
    """`budget_usd` in the request caps what the run's model steps may be charged, in
    micro-dollars: what is left of it (None: no budget, or not a model step). Each model call
    of the step may be held for at most what is left (the gateway refuses a worst case above it
    before calling), so the run's charges never pass the budget. Once spent, the next model step
    fails (402) and its policy decides."""
    budget = request.get("budget_usd")
    if step.operation is None or not isinstance(budget, int | float):
        return None
    left = round(budget * 1_000_000) - spent
    if left <= 0:
        raise StepFailed(
            JobError(
                message=f"The run's budget of ${budget:g} is spent (${spent / 1e6:g}).",
                type="insufficient_quota",
                code="budget_exceeded",
                status=402,
            )
        )
    return left


class SagaRunner:
    def __init__(
        self,
        rows: WorkflowRows,
        executor: JobExecutor,
        storage: StorageService | None,
        events: EventsService | None,
        http: HttpCall,
    ) -> None:
        self.http = http
        self.rows = rows
        self.executor = executor
        self.storage = storage
        self.events = events
        self.loop: asyncio.AbstractEventLoop | None = None

    async def _load(self, run_id: str) -> tuple[Any, WorkflowDefinition, list[StepState]]:
        row = await self.rows.row(run_id)
        definition = WorkflowDefinition.model_validate_json(row.definition)
        steps = [StepState.model_validate(s) for s in orjson.loads(row.steps)]
        return row, definition, steps

    async def begin(self, run_id: str) -> dict[str, Any] | None:
        row = await self.rows.row(run_id)
        if row is None or row.status not in OPEN:
            return None
        await self.rows.move(run_id, ("queued",), status="running", started_at=int(time.time()))
        return {"definition": orjson.loads(row.definition)}

    async def attempt(self, run_id: str, index: int, number: int) -> dict[str, Any]:
        """One attempt of step `index` (the model, then each fallback): its output or error."""
        row, definition, steps = await self._load(run_id)
        step = definition.steps[index]
        state = steps[index]
        started = state.started_at or time.time()
        running = state.model_copy(update={"status": "running", "attempts": number,
                                           "started_at": started})  # fmt: skip
        await self.rows.set_step(run_id, index, running)
        request = orjson.loads(row.request)
        outputs = {s.name: s.output for s in steps}
        body = fill(step.input, request, outputs)
        spent: list[int] = []
        attributes: dict[str, str | int] = {
            "twelve.workflow.id": run_id,
            "twelve.workflow.step": step.name,
            "twelve.workflow.attempt": number,
        }
        try:
            # One trace per run (the starting request's): a span per step attempt, under which
            # the model call's own spans go.
            with (
                continued(row.traceparent),
                _TRACER.start_as_current_span("twelve.workflow.step", attributes=attributes),
            ):
                left = _budget_left(request, sum(s.cost_micros for s in steps), step)
                output, model = await asyncio.wait_for(
                    self._run(row, step, body, f"{run_id}.{step.name}", number, spent, left),
                    step.timeout_seconds,
                )
        except Exception as exc:
            error = _error(exc)
            cost = running.cost_micros + sum(spent)
            failed = running.model_copy(update={"error": error, "cost_micros": cost})
            await self.rows.set_step(run_id, index, failed)
            return {"ok": False, "error": error.model_dump(mode="json")}
        done = running.model_copy(
            update={
                "status": "succeeded",
                "output": output,
                "model": model,
                "error": None,
                "finished_at": time.time(),
                "cost_micros": running.cost_micros + sum(spent),
            }
        )
        await self.rows.set_step(run_id, index, done)
        return {"ok": True}

    async def _run(
        self,
        row: Any,
        step: StepDefinition,
        body: dict[str, Any],
        label: str,
        number: int,
        spent: list[int] | None = None,
        budget_left: int | None = None,
    ) -> tuple[Any, str | None]:
        if step.capability == "store":
            return await self._store(row, body), None
        if step.capability == "notify":
            return await self._notify(row, body), None
        if step.capability == "http":
            return await self.http.send(body), None
        assert step.operation is not None
        last: JobError | None = None
        for model in step.models:  # the model, then its fallbacks, in order
            cap = None if budget_left is None else budget_left - sum(spent or ())
            outcome = await self.executor.execute(
                ExecuteAttempt(
                    job_id=label,
                    attempt=number,
                    key_id=row.key_id,
                    customer_id=row.customer_id,
                    task_type=step.operation,
                    parameters={**body, "model": model},
                    traceparent=traceparent_now() or row.traceparent,
                    prepaid=False,
                    cost_cap_micros=cap,
                )
            )
            if spent is not None:
                spent.append(outcome.cost_micros)
            if outcome.error is None:
                return outcome.result, model
            last = outcome.error
        assert last is not None
        raise StepFailed(last)

    async def _store(self, row: Any, body: dict[str, Any]) -> dict[str, Any]:
        if self.storage is None:
            raise StepFailed(JobError(message="No storage module here.", type="server_error"))
        content = orjson.dumps({"workflow_id": row.id, "name": row.name, **body})
        stored = await self.storage.put_file(
            PutFile(
                customer_id=row.customer_id,
                filename=f"{row.id}.json",
                purpose="workflow_result",
                idempotency_key=f"workflow_result:{row.id}",
                content_type="application/json",
                content=base64.b64encode(content),
            )
        )
        return {"file_id": stored.id, "bytes": stored.bytes}

    async def _notify(self, row: Any, body: dict[str, Any]) -> dict[str, Any]:
        url = body.get("url")
        if not url:
            return {"sent": False, "reason": "no callback_url"}
        if self.events is None:
            raise StepFailed(JobError(message="No events module here.", type="server_error"))
        _, _, steps = await self._load(row.id)
        data = {
            "workflow_id": row.id,
            "name": row.name,
            "steps": [
                s.model_dump(mode="json", include={"name", "status", "output"}) for s in steps
            ],
        }
        delivery = await self.events.notify(
            Notify(
                customer_id=row.customer_id,
                url=str(url),
                event_type=f"workflow.{row.name}",
                data=data,
                webhook_id=f"msg_{row.id}",
                traceparent=row.traceparent,
            )
        )
        return {"sent": True, "webhook_id": delivery.id}

    async def give_up(self, run_id: str, index: int, status: str, outcome: str | None,
                      output: Any = None) -> None:  # fmt: skip
        """Step `index`'s final state after its attempts: failed (with a policy's outcome and
        default output) or skipped."""
        _, _, steps = await self._load(run_id)
        state = steps[index].model_copy(
            update={
                "status": status,
                "outcome": outcome,
                "output": output,
                "finished_at": time.time(),
            }
        )
        await self.rows.set_step(run_id, index, state)

    async def compensate(self, run_id: str, index: int) -> None:
        row, definition, steps = await self._load(run_id)
        compensation = definition.steps[index].compensate
        assert compensation is not None
        step = StepDefinition(
            name=f"{definition.steps[index].name}_undo",
            capability=compensation.capability,
            model=compensation.model,
            input=compensation.input,
        )
        outputs = {s.name: s.output for s in steps}
        body = fill(step.input, orjson.loads(row.request), outputs)
        await self._run(row, step, body, f"{run_id}.{step.name}", 1)
        state = steps[index].model_copy(update={"status": "compensated"})
        await self.rows.set_step(run_id, index, state)

    async def finish(self, run_id: str, status: str, partial: bool, failed: int | None) -> str:
        _row, _definition, steps = await self._load(run_id)
        result = {s.name: s.output for s in steps if s.output is not None}
        error = steps[failed].error if failed is not None else None
        await self.rows.move(
            run_id,
            OPEN,
            status=status,
            partial=int(partial),
            result=orjson.dumps(result).decode(),
            error=error.model_dump_json() if error else None,
            finished_at=int(time.time()),
        )
        final = await self.rows.row(run_id)
        return str(final.status) if final is not None else "stale"
