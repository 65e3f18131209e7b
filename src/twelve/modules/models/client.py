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

    async def call(self, deployment_id: str, operation: str, body: JSONObject) -> JSONObject:
        result: JSONObject = await self._rpc.call("call", _args(deployment_id, operation, body))
        return result

    def stream(
        self, deployment_id: str, operation: str, body: JSONObject
    ) -> AsyncIterator[JSONObject]:
        return self._rpc.stream("stream", _args(deployment_id, operation, body))


def _args(deployment_id: str, operation: str, body: JSONObject) -> JSONObject:
    return {"deployment_id": deployment_id, "operation": operation, "body": body}


_: type[ModelsService] = RemoteModels
