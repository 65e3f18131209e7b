"""The embeddings service: vectors from one deployment."""

from __future__ import annotations

from twelve.modules.models.api import EMBEDDINGS, JSONObject, ModelsService


class Embeddings:
    def __init__(self, models: ModelsService) -> None:
        self._models = models

    async def embed(self, deployment_id: str, body: JSONObject) -> JSONObject:
        model = body["model"]
        response = await self._models.call(deployment_id, EMBEDDINGS.name, body)
        response["model"] = model
        return response
