"""`twelve jobs watch ID`: follow one job until it ends, a line per change; `twelve jobs list`.

Both read the jobs module's database directly, like the other admin commands (run them where the
server's data directory, or its PostgreSQL, is reachable). `watch` exits 0 when the job
succeeded, 1 when it ended otherwise, 2 when it does not exist.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from twelve.app import admin_commands
from twelve.app.admin_commands import DataDirOption, JsonFlag

jobs_cli = typer.Typer(no_args_is_help=True, help="Follow and list async jobs.")
_TERMINAL = {"succeeded", "failed", "dead", "cancelled"}


def register(cli: typer.Typer) -> None:
    cli.add_typer(jobs_cli, name="jobs")


@jobs_cli.command("watch")
def watch(
    job_id: Annotated[str, typer.Argument(help="The job's id (job_…).")],
    interval: Annotated[float, typer.Option(min=0.05, max=60, help="Seconds between looks.")] = 0.5,
    timeout: Annotated[float, typer.Option(min=0, help="Give up after this long (0: never).")] = 0,
    data_dir: DataDirOption = None,
) -> None:
    """Show a job's progress until it ends: status, attempts, errors, then its result."""
    from twelve.modules.admin.service import Administration

    async def follow(admin: Administration) -> dict[str, Any] | None:
        import asyncio

        if admin.jobs is None:
            return None
        started = time.monotonic()
        seen: tuple[Any, ...] | None = None
        while True:
            job = await admin.jobs.get_job(job_id)
            if job is None:
                return None
            now = (job.status, job.attempts, job.last_error)
            if now != seen:
                seen = now
                typer.echo(_line(job.model_dump(mode="json")))
            if job.status in _TERMINAL:
                return job.model_dump(mode="json")
            if timeout and time.monotonic() - started > timeout:
                typer.echo(f"still {job.status} after {timeout:g} s", err=True)
                raise typer.Exit(1)
            await asyncio.sleep(interval)

    ended = admin_commands._run(follow, data_dir)
    if ended is None:
        typer.echo(f"twelve: no such job: {job_id}", err=True)
        raise typer.Exit(2)
    if ended["result"] is not None:
        typer.echo(json.dumps(ended["result"], indent=2))
    elif ended["result_file_id"]:
        typer.echo(f"result: file {ended['result_file_id']} (GET /v1/files/<id>/content)")
    raise typer.Exit(0 if ended["status"] == "succeeded" else 1)


@jobs_cli.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option(help="queued, running, succeeded, …")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    as_json: JsonFlag = False,
    data_dir: DataDirOption = None,
) -> None:
    """The newest jobs of every customer."""
    from twelve.modules.admin.service import Administration

    if status is not None and status not in (*_TERMINAL, "queued", "running"):
        typer.echo(f"twelve: unknown status {status!r}", err=True)
        raise typer.Exit(2)

    async def page(admin: Administration) -> list[dict[str, Any]]:
        if admin.jobs is None:
            return []
        found = await admin.jobs.list_jobs(None, status, limit)  # type: ignore[arg-type]
        return [j.model_dump(mode="json") for j in found.data]

    jobs = admin_commands._run(page, data_dir)
    if as_json:
        typer.echo(json.dumps({"object": "list", "data": jobs}, indent=2))
        return
    for job in jobs:
        typer.echo(_line(job))


def _line(job: dict[str, Any]) -> str:
    stamp = time.strftime("%H:%M:%S")
    attempts = f"attempt {job['attempts']}/{job['max_retries'] + 1}" if job["attempts"] else ""
    error = job.get("last_error") or {}
    why = f" — {error.get('message', '')[:120]}" if error and job["status"] != "succeeded" else ""
    parts = [stamp, job["id"], job["task_type"], job["status"], attempts]
    return "  ".join(p for p in parts if p) + why
