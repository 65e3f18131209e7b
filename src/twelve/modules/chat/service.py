"""The chat service: a chat completion on one deployment, named for the model the client used."""

from __future__ import annotations

from collections.abc import AsyncIterator

from twelve.modules.models.api import CHAT, JSONObject, ModelsService


class ChatCompletions:
    def __init__(self, models: ModelsService) -> None:
        self._models = models

    async def complete(self, deployment_id: str, body: JSONObject) -> JSONObject:
        model = body["model"]  # the public name: answers say what the client asked for
        response = await self._models.call(deployment_id, CHAT.name, body)
        response["model"] = model
        return response

    async def stream(self, deployment_id: str, body: JSONObject) -> AsyncIterator[JSONObject]:
        model = body["model"]
        async for chunk in self._models.stream(deployment_id, CHAT.name, body):
            chunk["model"] = model
            yield chunk
