"""The chat service: a chat completion on one deployment, named for the model the client used."""

from __future__ import annotations

from collections.abc import AsyncIterator

from twelve.modules.models.api import CHAT, DeploymentRef, JSONObject, ModelsService


class ChatCompletions:
    def __init__(self, models: ModelsService) -> None:
        self._models = models

    async def complete(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        response = await self._models.call(deployment.id, CHAT.name, body)
        response["model"] = deployment.model
        return response

    async def stream(
        self, deployment: DeploymentRef, body: JSONObject
    ) -> AsyncIterator[JSONObject]:
        async for chunk in self._models.stream(deployment.id, CHAT.name, body):
            chunk["model"] = deployment.model
            yield chunk
