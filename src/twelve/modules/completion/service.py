"""The completion service: a text completion on one deployment."""

from __future__ import annotations

from collections.abc import AsyncIterator

from twelve.modules.models.api import COMPLETIONS, JSONObject, ModelsService


class TextCompletions:
    def __init__(self, models: ModelsService) -> None:
        self._models = models

    async def complete(self, deployment_id: str, body: JSONObject) -> JSONObject:
        model = body["model"]  # the public name: answers say what the client asked for
        response = await self._models.call(deployment_id, COMPLETIONS.name, body)
        response["model"] = model
        return response

    async def stream(self, deployment_id: str, body: JSONObject) -> AsyncIterator[JSONObject]:
        model = body["model"]
        async for chunk in self._models.stream(deployment_id, COMPLETIONS.name, body):
            chunk["model"] = model
            yield chunk
