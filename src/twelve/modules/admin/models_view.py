"""`GET /admin/v1/models`: every model with its routing, and every deployment with its health.

Composed from two modules' public APIs, never their state: the models module gives the
configuration (plans: provider, priority, weight, strategy, fallbacks) and the active health
checks; the gateway gives what its routing knows (breaker, ejections, latency, in flight). With
several gateway processes, the routing part is the one that answers (shared breakers make their
ejections agree).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from twelve.modules.gateway.api import DeploymentState, RoutingStateService
from twelve.modules.models.api import (
    Capability,
    DeploymentHealth,
    DeploymentRef,
    ModelsService,
    Strategy,
)


class BreakerReport(BaseModel):
    state: Literal["closed", "open", "half_open"] = "closed"
    ejected_until: datetime | None = None
    ejections: int = 0
    # The current ejection came from another gateway process (through Redis).
    ejected_by_peer: bool = False


class DeploymentRouting(BaseModel):
    name: str
    provider: str
    upstream_model: str
    priority: int
    weight: float
    health: DeploymentHealth
    # Whether routing skips it for its active health (from the gateway's latest reading).
    actively_unhealthy: bool
    breaker: BreakerReport
    latency_seconds: float | None
    in_flight: int


class ModelRouting(BaseModel):
    object: Literal["model"] = "model"
    id: str
    capabilities: list[Capability]
    strategy: Strategy
    fallbacks: list[str]
    context_window_fallbacks: list[str]
    content_filter_fallbacks: list[str]
    deployments: list[DeploymentRouting]


async def models_view(models: ModelsService, routing: RoutingStateService) -> list[ModelRouting]:
    health = {h.deployment: h for h in await models.deployment_health()}
    states = {s.deployment: s for s in await routing.deployment_states()}
    views: list[ModelRouting] = []
    for card in await models.list_models():
        capabilities = sorted(card.capabilities)
        plan = await models.plan(card.id, capabilities[0])
        routing_config = plan[0].routing
        deployments = [
            _deployment(
                ref,
                health.get(ref.id) or DeploymentHealth(deployment=ref.id, model=card.id),
                states.get(ref.id),
            )
            for ref in plan
        ]
        views.append(
            ModelRouting(
                id=card.id,
                capabilities=capabilities,
                strategy=routing_config.strategy,
                fallbacks=list(routing_config.fallbacks),
                context_window_fallbacks=list(routing_config.context_window_fallbacks),
                content_filter_fallbacks=list(routing_config.content_filter_fallbacks),
                deployments=deployments,
            )
        )
    return views


def _deployment(
    ref: DeploymentRef, health: DeploymentHealth, state: DeploymentState | None
) -> DeploymentRouting:
    if state is None:  # never routed to by this process: nothing known yet
        state = DeploymentState(deployment=ref.id, breaker="closed")
    return DeploymentRouting(
        name=ref.id,
        provider=ref.provider,
        upstream_model=ref.upstream_model,
        priority=ref.priority,
        weight=ref.weight,
        health=health,
        actively_unhealthy=state.actively_unhealthy,
        breaker=BreakerReport(
            state=state.breaker,
            ejected_until=state.ejected_until,
            ejections=state.ejections,
            ejected_by_peer=state.ejected_by_peer,
        ),
        latency_seconds=state.latency_seconds,
        in_flight=state.in_flight,
    )
