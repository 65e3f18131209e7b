"""A job as a DBOS workflow: begin, attempts with durable backoff between them, finish, notify.

Each stage is a DBOS step, so a workflow resumed after its worker died replays the finished steps'
recorded outputs and runs only what was left: a finished attempt is not run again, a result is
not stored twice, a hold is not settled twice. (An attempt cut off mid-call is run again: the
model call is at least once; what it costs is counted each time it really ran.)

The steps do their work on the process's event loop through the `JobRunner` the jobs module
installs at launch (DBOS may run a workflow on a thread of its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from dbos import DBOS

from twelve.modules.jobs.job_runner import JobRunner

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_runner: JobRunner | None = None


def install(runner: JobRunner | None) -> None:
    global _runner
    _runner = runner


async def on_runner_loop(loop: asyncio.AbstractEventLoop | None, work: Coroutine[Any, Any, T]) -> T:
    """`work` on the process's event loop, where the module's engines and pools live (DBOS may
    run a workflow on a thread and loop of its own)."""
    if loop is None or loop is asyncio.get_running_loop():
        return await work
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, loop))


def _runner_now() -> JobRunner:
    if _runner is None:
        raise RuntimeError("the jobs module is not running in this process")
    return _runner


# Steps are retried on failure (a database busy under several workers, a blip): each one's
# writes are conditional, so running one again changes nothing twice. A model call in an attempt
# is at least once anyway.
def retried_step(name: str) -> Callable[[F], F]:
    step = DBOS.step(
        name=name, retries_allowed=True, max_attempts=8, interval_seconds=0.5, backoff_rate=2.0
    )
    return cast(Callable[[F], F], step)


@retried_step("twelve.jobs.begin")
async def begin(job_id: str, run: int) -> dict[str, Any] | None:
    return await on_runner_loop(_runner_now().loop, _runner_now().begin(job_id, run))


@retried_step("twelve.jobs.attempt")
async def attempt(job_id: str, run: int, number: int) -> dict[str, Any] | None:
    return await on_runner_loop(_runner_now().loop, _runner_now().attempt(job_id, run, number))


@retried_step("twelve.jobs.finish")
async def finish(job_id: str, run: int, outcome: dict[str, Any] | None) -> str:
    return await on_runner_loop(_runner_now().loop, _runner_now().finish(job_id, run, outcome))


@retried_step("twelve.jobs.notify")
async def notify(job_id: str, run: int) -> None:
    await on_runner_loop(_runner_now().loop, _runner_now().notify(job_id, run))


@DBOS.workflow(name="twelve.jobs.run")
async def run_job(job_id: str, run: int) -> str:
    plan = await begin(job_id, run)
    if plan is None:  # cancelled before it started, or a stale run
        return "skipped"
    outcome: dict[str, Any] | None = None
    last = int(plan["max_retries"]) + 1
    for number in range(1, last + 1):
        outcome = await attempt(job_id, run, number)
        if outcome is None:  # cancelled while it ran
            break
        if outcome.get("error") is None or not outcome.get("retryable"):
            break
        if number < last:
            # Durable: the wake-up time is recorded, so a restarted worker keeps the schedule.
            await DBOS.sleep_async(_runner_now().backoff(number))
    status = await finish(job_id, run, outcome)
    await notify(job_id, run)
    return status
