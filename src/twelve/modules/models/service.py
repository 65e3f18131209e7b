"""The models service: the configured models, their routing plans, and calls to their deployments.

`build_models_service` is what the composition root calls. Every protocol port is wrapped here,
once, in the cross-cutting wrappers of the generic port: the forwarding policy (fields that would
bill the operator's account) and `InstrumentedPort` (tracing and metrics), so every provider and
every operation gets the same treatment and no adapter does its own.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping

from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.kernel.http_client import HttpClient
from twelve.modules.models.adapters.endpoint import Endpoint
from twelve.modules.models.adapters.forwarding import ForwardingPolicy
from twelve.modules.models.adapters.instrumented import InstrumentedPort
from twelve.modules.models.adapters.port import ProviderPort
from twelve.modules.models.adapters.protocols import PROTOCOLS
from twelve.modules.models.api import (
    OPERATIONS,
    Capability,
    DeploymentHealth,
    DeploymentRef,
    JSONObject,
    ModelCard,
    ModelsService,
    Operation,
)
from twelve.modules.models.config import DeploymentConfig, ModelConfig, ModelsConfig
from twelve.modules.models.health_checker import HealthChecker, HealthTarget

_NO_HEADERS: Mapping[str, str] = {}
_NOUNS: Mapping[Capability, str] = {op.capability: op.noun for op in OPERATIONS.values()}


class ModelsRegistry:
    """`ModelsService` over a fixed set of models, each with its deployments in plan order."""

    def __init__(
        self,
        cards: list[ModelCard],
        plans: Mapping[str, list[DeploymentRef]],
        ports: Mapping[str, ProviderPort],
        health: HealthChecker | None = None,
    ) -> None:
        self._cards = {card.id: card for card in cards}
        self.health = health
        self._plans = plans
        self._ports = ports
        self._models = {ref.id: ref.model for plan in plans.values() for ref in plan}

    async def list_models(self) -> list[ModelCard]:
        return list(self._cards.values())

    async def deployment_health(self) -> list[DeploymentHealth]:
        if self.health is None:
            return [
                DeploymentHealth(deployment=ref.id, model=ref.model, detail="checks not running")
                for plan in self._plans.values()
                for ref in plan
            ]
        return self.health.snapshot()

    async def check_health(self) -> list[DeploymentHealth]:
        if self.health is not None:
            await self.health.check_once()
        return await self.deployment_health()

    async def plan(self, model: str, capability: Capability) -> list[DeploymentRef]:
        card = self._cards.get(model)
        if card is None:
            raise NotFound(
                f"The model `{model}` does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        if capability not in card.capabilities:
            raise InvalidRequest(
                f"The model `{model}` does not support {_NOUNS[capability]}.",
                param="model",
                code="model_not_supported",
            )
        return list(self._plans[model])

    async def call(self, deployment_id: str, operation: str, body: JSONObject) -> JSONObject:
        port, op = self._resolve(deployment_id, operation)
        return await port.call(op, body, _NO_HEADERS)

    def stream(
        self, deployment_id: str, operation: str, body: JSONObject
    ) -> AsyncIterator[JSONObject]:
        port, op = self._resolve(deployment_id, operation)
        if not op.streams:
            raise InvalidRequest(f"{op.noun.capitalize()} cannot be streamed.", param="stream")
        # The port's own stream, not a wrapper around it: one generator less per chunk.
        return port.stream(op, body, _NO_HEADERS)

    def _resolve(self, deployment_id: str, operation: str) -> tuple[ProviderPort, Operation]:
        port = self._ports.get(deployment_id)
        if port is None:
            # A plan from an older configuration, or a deployment from another process.
            raise NotFound(f"The deployment `{deployment_id}` is not configured.", param="model")
        op = OPERATIONS.get(operation)
        if op is None:
            raise InvalidRequest(f"Unknown operation `{operation}`.")
        model = self._models[deployment_id]
        if op.capability not in self._cards[model].capabilities:
            raise InvalidRequest(
                f"The model `{model}` does not support {op.noun}.",
                param="model",
                code="model_not_supported",
            )
        return port, op


def build_models_service(config: ModelsConfig, http: HttpClient) -> ModelsRegistry:
    """The registry for `config`, calling upstreams through the process's pooled `http` client."""
    created = int(time.time())  # one timestamp per configuration load, as `GET /v1/models` shows
    cards: list[ModelCard] = []
    plans: dict[str, list[DeploymentRef]] = {}
    ports: dict[str, ProviderPort] = {}
    targets: list[HealthTarget] = []
    for model in config.models:
        cards.append(
            ModelCard(
                id=model.name,
                created=created,
                owned_by=model.owned_by,
                capabilities=model.effective_capabilities,
            )
        )
        plans[model.name] = []
        for ref, deployment in deployment_refs(model):
            endpoint = endpoint_for(deployment, ref.id)
            port = PROTOCOLS[deployment.spec.protocol](http, endpoint)
            targets.append(health_target(model, deployment, ref, endpoint))
            ports[ref.id] = InstrumentedPort(ForwardingPolicy(port, model.allow_fields), ref)
            plans[model.name].append(ref)
    return ModelsRegistry(cards, plans, ports, HealthChecker(http, targets))


def health_target(
    model: ModelConfig, deployment: DeploymentConfig, ref: DeploymentRef, endpoint: Endpoint
) -> HealthTarget:
    """What the health checker does for one deployment: the model's path, else the provider's
    cheap call, else nothing (with the reason the admin view shows)."""
    config = model.health_check
    if not config.enabled:
        return HealthTarget(ref, endpoint, config, None, "checks disabled")
    path = config.path or deployment.spec.health_path
    if path is None:
        return HealthTarget(ref, endpoint, config, None, "the provider has no cheap call")
    return HealthTarget(ref, endpoint, config, path)


def deployment_refs(model: ModelConfig) -> list[tuple[DeploymentRef, DeploymentConfig]]:
    """Each deployment of `model` as others see it, with its stable id, in plan order: by
    priority, then as written (the sort is stable)."""
    routing = model.routing()  # one object shared by the model's deployments
    refs = [
        (
            DeploymentRef(
                id=deployment_id,
                model=model.name,
                provider=deployment.provider,
                upstream_model=deployment.model,
                base_url=deployment.url,
                retry_on_timeout=deployment.retry_on_timeout,
                input_cost_per_mtok=deployment.input_cost_per_mtok,
                output_cost_per_mtok=deployment.output_cost_per_mtok,
                free=deployment.free,
                cost_per_image=deployment.cost_per_image,
                cost_per_second=deployment.cost_per_second,
                cost_per_character=deployment.cost_per_character,
                priority=deployment.priority,
                weight=deployment.weight,
                context_window=deployment.context_window or model.context_window,
                routing=routing,
            ),
            deployment,
        )
        for deployment_id, deployment in zip(model.deployment_ids(), model.deployments, strict=True)
    ]
    return sorted(refs, key=lambda pair: pair[0].priority)


def endpoint_for(deployment: DeploymentConfig, deployment_id: str | None = None) -> Endpoint:
    """The resolved call target of one configured deployment, credentials included."""
    api_key = deployment.api_key.get_secret_value() if deployment.api_key else None
    # Every configured header value is treated as a secret: operators put subscription keys and
    # tokens under names we cannot guess (`Ocp-Apim-Subscription-Key`, `X-Custom-Token`, …).
    secrets = ([api_key] if api_key else []) + list(deployment.headers.values())
    return Endpoint(
        base_url=deployment.url,
        upstream_model=deployment.model,
        timeout=deployment.timeout,
        headers={**deployment.spec.auth_headers(api_key), **deployment.headers},
        secrets=tuple(secrets),
        default_max_tokens=deployment.spec.default_max_tokens,
        deployment_id=deployment_id or deployment.name or deployment.model,
        provider=deployment.provider,
        first_token_timeout=deployment.first_token_timeout,
        idle_timeout=deployment.idle_timeout,
        connect_timeout=deployment.connect_timeout,
        max_response_bytes=deployment.max_response_bytes,
    )


# Checked by mypy: the registry is a `ModelsService`.
_: type[ModelsService] = ModelsRegistry
