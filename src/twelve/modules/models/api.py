"""Public surface of the models module: the model registry, routing plans and the provider port.

Other modules see deployments as `DeploymentRef`s (no secrets) and call providers through
`ModelsService`; provider adapters and wire-format translation stay inside this module.
Request and response bodies are OpenAI wire-format JSON objects (`JSONObject`), whatever the
upstream speaks: translation to and from other protocols happens behind this port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Capability",
    "DeploymentRef",
    "JSONObject",
    "ModelCard",
    "ModelsService",
]

JSONObject = dict[str, Any]
Capability = Literal["chat", "completions", "embeddings"]


class DeploymentRef(BaseModel):
    """One place a model is served: a provider, its base URL and the upstream's model id."""

    model_config = ConfigDict(frozen=True)

    id: str
    model: str
    provider: str
    upstream_model: str
    base_url: str
    # Whether a call that timed out may be sent again: the upstream may already have billed it.
    retry_on_timeout: bool = True


class ModelCard(BaseModel):
    """A model as clients see it in `GET /v1/models`."""

    model_config = ConfigDict(frozen=True)

    id: str
    created: int
    owned_by: str
    capabilities: frozenset[Capability]


class ModelsService(Protocol):
    async def list_models(self) -> list[ModelCard]:
        """Every configured model, in configuration order."""
        ...

    async def plan(self, model: str, capability: Capability) -> list[DeploymentRef]:
        """The deployments to try for `model`, in order.

        Raises `NotFound` for an unknown model and `InvalidRequest` when the model cannot serve
        `capability`.
        """
        ...

    async def chat(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        """A non-streaming chat completion. Raises `UpstreamError` (retryable or not)."""
        ...

    def chat_stream(self, deployment: DeploymentRef, body: JSONObject) -> AsyncIterator[JSONObject]:
        """Chat completion chunks. Connection and status errors raise before the first chunk.

        The final chunk carries `usage` (with empty `choices`) whenever the upstream reports it.
        """
        ...

    async def completion(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject: ...

    def completion_stream(
        self, deployment: DeploymentRef, body: JSONObject
    ) -> AsyncIterator[JSONObject]: ...

    async def embeddings(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject: ...
