"""`twelve serve` keeps the local inference sidecar running as a child process.

Started once the databases are ready, restarted (after 1 s, doubling to 30 s) whenever it exits
on its own, and stopped with the server (SIGTERM, then SIGKILL after 10 s). Its output goes to the
server's. Not started when `TWELVE_SIDECAR=off` or when `TWELVE_SIDECAR_URL` says it runs
elsewhere (a second container in the pod, another host).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

import structlog

from twelve.kernel.background import cancel_and_wait
from twelve.kernel.sidecar_location import SidecarLocation

log = structlog.get_logger("twelve.sidecar")
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STOP_SECONDS = 10.0


class SidecarProcess:
    def __init__(self, location: SidecarLocation) -> None:
        self._location = location
        self._process: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> None:
        if self._location.supervised:
            self._watch = asyncio.create_task(self._keep_running(), name="twelve-sidecar")

    async def stop(self) -> None:
        watch, self._watch = self._watch, None
        await cancel_and_wait(watch)
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            process.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), STOP_SECONDS)

    async def _keep_running(self) -> None:
        backoff = FIRST_BACKOFF
        while True:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "twelve.sidecar",
                "--host",
                self._location.sidecar_host,
                "--port",
                str(self._location.sidecar_port),
                stdin=asyncio.subprocess.DEVNULL,
                env=os.environ.copy(),
            )
            self.starts += 1
            started = asyncio.get_running_loop().time()
            code = await self._process.wait()
            if asyncio.get_running_loop().time() - started > MAX_BACKOFF:
                backoff = FIRST_BACKOFF  # it ran a while: a fresh failure, not a crash loop
            log.warning("the local sidecar exited; starting it again", code=code, after=backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
