"""A workflow run as a DBOS workflow: its steps in order, each attempt and each decision recorded,
so a run resumed after its worker died goes on from the step it was in and never runs a finished
step again.

Per step: attempts (the model, then its fallbacks) with durable exponential backoff between them;
when they are spent, the step's `on_failure` policy decides:
- `fail`: the run fails; the compensations of the steps that succeeded run in reverse order
  (full rollback), and the run is `compensated` when any ran;
- `partial`: the run ends `succeeded` with `partial: true`: later model steps are skipped, while
  `store` and `notify` steps still run, so the partial result is kept and announced;
- `default`: the step's output is the default value, and the run goes on;
- `retry_later`: more rounds of attempts after `retry_later_seconds` each (durable), then go on;
- `continue`: the step failed, the run goes on (its output is absent for later steps).
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from twelve.modules.jobs.job_workflow import on_runner_loop, retried_step
from twelve.modules.jobs.saga_runner import SagaRunner

_runner: SagaRunner | None = None
# Steps that still run after a `partial` failure: what keeps and announces the partial result.
_AFTER_PARTIAL = frozenset({"store", "notify"})


def install(runner: SagaRunner | None) -> None:
    global _runner
    _runner = runner


def _now() -> SagaRunner:
    if _runner is None:
        raise RuntimeError("workflows are not running in this process")
    return _runner


@retried_step("twelve.workflows.begin")
async def begin(run_id: str) -> dict[str, Any] | None:
    return await on_runner_loop(_now().loop, _now().begin(run_id))


@retried_step("twelve.workflows.attempt")
async def attempt(run_id: str, index: int, number: int) -> dict[str, Any]:
    return await on_runner_loop(_now().loop, _now().attempt(run_id, index, number))


@retried_step("twelve.workflows.give_up")
async def give_up(run_id: str, index: int, status: str, outcome: str | None, output: Any) -> None:
    await on_runner_loop(_now().loop, _now().give_up(run_id, index, status, outcome, output))


@retried_step("twelve.workflows.compensate")
async def compensate(run_id: str, index: int) -> None:
    await on_runner_loop(_now().loop, _now().compensate(run_id, index))


@retried_step("twelve.workflows.finish")
async def finish(run_id: str, status: str, partial: bool, failed: int | None) -> str:
    return await on_runner_loop(_now().loop, _now().finish(run_id, status, partial, failed))


async def _attempts(run_id: str, index: int, step: dict[str, Any], first: int) -> tuple[bool, int]:
    """Attempts `first`… of one round (1 + retries), with backoff between; (succeeded, last)."""
    number = first
    for round_attempt in range(int(step["retries"]) + 1):
        number = first + round_attempt
        if (await attempt(run_id, index, number))["ok"]:
            return True, number
        if round_attempt < int(step["retries"]):
            await DBOS.sleep_async(float(step["backoff_seconds"]) * 2**round_attempt)
    return False, number


@DBOS.workflow(name="twelve.workflows.run")
async def run_saga(run_id: str) -> str:
    plan = await begin(run_id)
    if plan is None:
        return "skipped"
    steps: list[dict[str, Any]] = plan["definition"]["steps"]
    succeeded: list[int] = []
    partial = False
    for index, step in enumerate(steps):
        if partial and step["capability"] not in _AFTER_PARTIAL:
            await give_up(run_id, index, "skipped", "partial", None)
            continue
        ok, number = await _attempts(run_id, index, step, 1)
        policy = step["on_failure"]
        if not ok and policy == "retry_later":
            for _round in range(int(step["retry_later_rounds"])):
                await DBOS.sleep_async(float(step["retry_later_seconds"]))
                ok, number = await _attempts(run_id, index, step, number + 1)
                if ok:
                    break
        if ok:
            succeeded.append(index)
            continue
        if isinstance(policy, dict):  # {"default": value}
            await give_up(run_id, index, "failed", "default_used", policy.get("default"))
        elif policy in ("continue", "retry_later"):
            await give_up(run_id, index, "failed", "continued", None)
        elif policy == "partial":
            await give_up(run_id, index, "failed", "partial", None)
            partial = True
        else:  # fail: roll back what succeeded, latest first
            await give_up(run_id, index, "failed", "failed", None)
            undone = [i for i in reversed(succeeded) if steps[i].get("compensate")]
            for done in undone:
                await compensate(run_id, done)
            for later in range(index + 1, len(steps)):
                await give_up(run_id, later, "skipped", None, None)
            return await finish(run_id, "compensated" if undone else "failed", False, index)
    return await finish(run_id, "succeeded", partial, None)
