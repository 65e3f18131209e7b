"""The models service: the configured models, their routing plans, and calls to their deployments.

`build_models_service` is what the composition root calls. Every provider port is wrapped in
`InstrumentedPort` here, so tracing and metrics are the same for every provider and no adapter
does its own.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping

from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.kernel.http_client import HttpClient
from twelve.modules.models.adapters.endpoint import Endpoint
from twelve.modules.models.adapters.instrumented import InstrumentedPort
from twelve.modules.models.adapters.port import ProviderPort
from twelve.modules.models.adapters.protocols import PROTOCOLS
from twelve.modules.models.api import (
    Capability,
    DeploymentRef,
    JSONObject,
    ModelCard,
    ModelsService,
)
from twelve.modules.models.config import DeploymentConfig, ModelsConfig

_CAPABILITY_NOUNS: Mapping[Capability, str] = {
    "chat": "chat completions",
    "completions": "text completions",
    "embeddings": "embeddings",
}
# Configured headers whose values are credentials, kept out of error messages like the API key.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key"})
_NO_HEADERS: Mapping[str, str] = {}


class ModelsRegistry:
    """`ModelsService` over a fixed set of models, each with its deployments in plan order."""

    def __init__(
        self,
        cards: list[ModelCard],
        plans: Mapping[str, list[DeploymentRef]],
        ports: Mapping[str, ProviderPort],
    ) -> None:
        self._cards = {card.id: card for card in cards}
        self._plans = plans
        self._ports = ports

    async def list_models(self) -> list[ModelCard]:
        return list(self._cards.values())

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
                f"The model `{model}` does not support {_CAPABILITY_NOUNS[capability]}.",
                param="model",
                code="model_not_supported",
            )
        return list(self._plans[model])

    async def chat(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        return await self._port(deployment).chat(body, _NO_HEADERS)

    def chat_stream(self, deployment: DeploymentRef, body: JSONObject) -> AsyncIterator[JSONObject]:
        # The port's own stream, not a wrapper around it: one generator less per chunk.
        return self._port(deployment).chat_stream(body, _NO_HEADERS)

    async def completion(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        return await self._port(deployment).completion(body, _NO_HEADERS)

    def completion_stream(
        self, deployment: DeploymentRef, body: JSONObject
    ) -> AsyncIterator[JSONObject]:
        return self._port(deployment).completion_stream(body, _NO_HEADERS)

    async def embeddings(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        return await self._port(deployment).embeddings(body, _NO_HEADERS)

    def _port(self, deployment: DeploymentRef) -> ProviderPort:
        port = self._ports.get(deployment.id)
        if port is None:
            # A plan from an older configuration, or a deployment from another process.
            raise NotFound(f"The deployment `{deployment.id}` is not configured.", param="model")
        return port


def build_models_service(config: ModelsConfig, http: HttpClient) -> ModelsRegistry:
    """The registry for `config`, calling upstreams through the process's pooled `http` client."""
    created = int(time.time())  # one timestamp per configuration load, as `GET /v1/models` shows
    cards: list[ModelCard] = []
    plans: dict[str, list[DeploymentRef]] = {}
    ports: dict[str, ProviderPort] = {}
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
        for index, deployment in enumerate(model.deployments):
            ref = DeploymentRef(
                id=f"{model.name}#{index}",
                model=model.name,
                provider=deployment.provider,
                upstream_model=deployment.model,
                base_url=deployment.url,
            )
            port = PROTOCOLS[deployment.spec.protocol](http, endpoint_for(deployment))
            ports[ref.id] = InstrumentedPort(port, ref)
            plans[model.name].append(ref)
    return ModelsRegistry(cards, plans, ports)


def endpoint_for(deployment: DeploymentConfig) -> Endpoint:
    """The resolved call target of one configured deployment, credentials included."""
    api_key = deployment.api_key.get_secret_value() if deployment.api_key else None
    secrets = [api_key] if api_key else []
    secrets += [v for k, v in deployment.headers.items() if k.lower() in _SECRET_HEADERS]
    return Endpoint(
        base_url=deployment.url,
        upstream_model=deployment.model,
        timeout=deployment.timeout,
        headers={**deployment.spec.auth_headers(api_key), **deployment.headers},
        secrets=tuple(secrets),
        default_max_tokens=deployment.spec.default_max_tokens,
    )


# Checked by mypy: the registry is a `ModelsService`.
_: type[ModelsService] = ModelsRegistry
