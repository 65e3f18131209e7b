"""Brings the models module's active health checks into the gateway's routing, off the request
path: a background task reads `ModelsService.deployment_health()` every `interval` seconds and
marks the unhealthy deployments on the stats board, which routing skips (healthy ones first, as
for ejected ones). A request never waits for it.

When the snapshot cannot be read (the models module is in another process and unreachable), the
marks are cleared: the health checks then fail open, and the breakers still see every attempt.
That is logged once per outage, not once per poll.
"""

from __future__ import annotations

import asyncio
import contextlib

from twelve.kernel.telemetry.logging import get_logger
from twelve.modules.gateway.deployment_stats import StatsBoard
from twelve.modules.models.api import ModelsService

log = get_logger("twelve.gateway.health")


class HealthWatch:
    def __init__(self, models: ModelsService, board: StatsBoard, interval: float) -> None:
        self._models = models
        self._board = board
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="gateway-health-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def refresh(self) -> None:
        """Read the snapshot once and mark the board."""
        try:
            snapshot = await self._models.deployment_health()
        except Exception as exc:
            if not self._failing:
                self._failing = True
                log.warning("health_snapshot_unavailable", error=str(exc)[:200])
            self._board.mark_unhealthy(frozenset())
            return
        if self._failing:
            self._failing = False
            log.info("health_snapshot_available")
        unhealthy = frozenset(h.deployment for h in snapshot if h.status == "unhealthy")
        if unhealthy != self._board.unhealthy:
            log.info("deployments_unhealthy", deployments=sorted(unhealthy))
        self._board.mark_unhealthy(unhealthy)

    async def _run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self._interval)
