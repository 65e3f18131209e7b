"""`RoutingStateService`: the stats board as the admin view reads it (DTOs, wall-clock times)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from time import monotonic

from twelve.modules.gateway.api import DeploymentState, RoutingStateService
from twelve.modules.gateway.deployment_stats import StatsBoard


class RoutingState:
    def __init__(
        self,
        board: StatsBoard,
        *,
        clock: Callable[[], float] = monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._board = board
        self._clock = clock
        self._wall = wall

    async def deployment_states(self) -> list[DeploymentState]:
        now, wall = self._clock(), self._wall()
        states: list[DeploymentState] = []
        seen = self._board.snapshot()
        for deployment, stats in seen.items():
            breaker = stats.breaker
            ejected = breaker.state != "closed" and breaker.ejected_until > now
            until = wall + (breaker.ejected_until - now) if ejected else None
            latency = stats.latency_at(now)
            states.append(
                DeploymentState(
                    deployment=deployment,
                    breaker=breaker.state,
                    ejected_until=datetime.fromtimestamp(until, UTC) if until else None,
                    ejections=breaker.ejections_total,
                    ejected_by_peer=breaker.remote and ejected,
                    actively_unhealthy=stats.unhealthy,
                    latency_seconds=round(latency, 6) if latency is not None else None,
                    in_flight=stats.in_flight,
                )
            )
        for deployment in sorted(self._board.unhealthy - seen.keys()):
            states.append(
                DeploymentState(deployment=deployment, breaker="closed", actively_unhealthy=True)
            )
        return states


# Checked by mypy: the board's view is a `RoutingStateService`.
_: type[RoutingStateService] = RoutingState
