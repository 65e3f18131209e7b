"""The sweeper: a background task that settles expired holds, started and stopped with the
credits module. Several processes may sweep at once: settling is a conditional update, so each
orphan is settled once."""

from __future__ import annotations

import asyncio

from twelve.kernel.background import cancel_and_wait
from twelve.kernel.telemetry.logging import get_logger
from twelve.modules.credits.api import HoldsService

log = get_logger("twelve.credits.sweeper")


class Sweeper:
    def __init__(self, holds: HoldsService, interval_seconds: float) -> None:
        self._holds = holds
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            try:
                await self._holds.sweep()
            except Exception:  # a database hiccup must not end the sweeping for good
                log.exception("sweep_failed")
            await asyncio.sleep(self._interval)
