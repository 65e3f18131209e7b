"""The models port over HTTP, for processes that do not serve the models module themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator

from twelve.kernel.rpc import RpcClient
from twelve.modules.models.api import (
    Capability,
    DeploymentRef,
    JSONObject,
    ModelCard,
    ModelsService,
)


class RemoteModels:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def list_models(self) -> list[ModelCard]:
        return [ModelCard.model_validate(c) for c in await self._rpc.call("list_models", {})]

    async def plan(self, model: str, capability: Capability) -> list[DeploymentRef]:
        plan = await self._rpc.call("plan", {"model": model, "capability": capability})
        return [DeploymentRef.model_validate(d) for d in plan]

    async def chat(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        result: JSONObject = await self._rpc.call("chat", _args(deployment, body))
        return result

    def chat_stream(self, deployment: DeploymentRef, body: JSONObject) -> AsyncIterator[JSONObject]:
        return self._rpc.stream("chat_stream", _args(deployment, body))

    async def completion(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        result: JSONObject = await self._rpc.call("completion", _args(deployment, body))
        return result

    def completion_stream(
        self, deployment: DeploymentRef, body: JSONObject
    ) -> AsyncIterator[JSONObject]:
        return self._rpc.stream("completion_stream", _args(deployment, body))

    async def embeddings(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        result: JSONObject = await self._rpc.call("embeddings", _args(deployment, body))
        return result


def _args(deployment: DeploymentRef, body: JSONObject) -> JSONObject:
    return {"deployment": deployment, "body": body}


_: type[ModelsService] = RemoteModels
