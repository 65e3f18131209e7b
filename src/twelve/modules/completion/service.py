"""The completion service: a text completion on one deployment."""

from __future__ import annotations

from collections.abc import AsyncIterator

from twelve.modules.models.api import COMPLETIONS, DeploymentRef, JSONObject, ModelsService


class TextCompletions:
    def __init__(self, models: ModelsService) -> None:
        self._models = models

    async def complete(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        response = await self._models.call(deployment.id, COMPLETIONS.name, body)
        response["model"] = deployment.model
        return response

    async def stream(
        self, deployment: DeploymentRef, body: JSONObject
    ) -> AsyncIterator[JSONObject]:
        async for chunk in self._models.stream(deployment.id, COMPLETIONS.name, body):
            chunk["model"] = deployment.model
            yield chunk
