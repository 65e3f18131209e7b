"""`twelve worker`: processes that work the job queue, with no HTTP server of their own.

`twelve worker` runs one worker here; `--processes N` runs N children and restarts any that dies
(under the same name, so it resumes the jobs it had in hand: DBOS recovers a worker's pending
workflows when a worker of that name launches), stopping them all on SIGTERM or Ctrl-C. Workers
share the data directory (SQLite, WAL) on one machine, or PostgreSQL (`TWELVE_DATABASE_URL` and
`TWELVE_JOBS_SYSTEM_DATABASE_URL`) across machines. Give workers on the same queue distinct
names: two live workers under one name would each resume the other's jobs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Annotated

import typer

NameOption = Annotated[
    str | None,
    typer.Option(
        "--name",
        help="This worker's name (default: worker-<hostname>); with --processes, "
        "children are <name>-1 … <name>-N.",
        show_default=False,
    ),
]


def register(cli: typer.Typer) -> None:
    cli.command("worker")(worker)


def worker(
    processes: Annotated[int, typer.Option(min=1, max=64, help="Worker processes to run.")] = 1,
    name: NameOption = None,
) -> None:
    """Work the job queue (no HTTP): one process, or N supervised ones."""
    base = name or f"worker-{socket.gethostname()}"
    if processes == 1:
        _work(base)
        return
    _supervise([f"{base}-{i}" for i in range(1, processes + 1)])


def _work(executor_id: str) -> None:
    from twelve.app.bootstrap import build
    from twelve.app.settings_errors import (
        CONFIGURATION,
        ensure_data_dir,
        exit_with,
        settings_or_exit,
    )
    from twelve.kernel.config_file import ConfigFileError
    from twelve.kernel.telemetry.logging import get_logger, setup_logging

    # Read by the jobs module's settings when the container is built.
    os.environ["TWELVE_JOBS_WORKER"] = "true"
    os.environ["TWELVE_JOBS_EXECUTOR_ID"] = executor_id
    settings = settings_or_exit()
    setup_logging(settings.log_level, settings.log_format)
    ensure_data_dir(settings)
    try:
        container = build(settings)
    except ConfigFileError as exc:
        exit_with([str(exc)], prefix=CONFIGURATION)
    log = get_logger("twelve.worker")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await container.start()
        try:
            await container.start_serving()
            log.info("worker_started", worker=executor_id, pid=os.getpid())
            typer.echo(f"twelve worker {executor_id}: working the job queue", err=True)
            await stop.wait()
        finally:
            await container.stop()
            log.info("worker_stopped", worker=executor_id)

    asyncio.run(main())


def _spawn(executor_id: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "twelve.app.cli", "worker", "--name", executor_id]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL)


def _supervise(names: list[str]) -> None:
    children = {name: _spawn(name) for name in names}
    stopping = False

    def stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    restarts: dict[str, float] = {}
    while not stopping:
        time.sleep(0.2)
        for name, child in list(children.items()):
            if child.poll() is None or stopping:
                continue
            # A crash loop backs off: at most one restart per name per second.
            if time.monotonic() - restarts.get(name, 0.0) < 1.0:
                continue
            typer.echo(f"twelve worker: {name} exited ({child.returncode}); restarting", err=True)
            restarts[name] = time.monotonic()
            children[name] = _spawn(name)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 30
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
