"""The embeddings service: vectors from one deployment."""

from __future__ import annotations

from twelve.modules.models.api import EMBEDDINGS, DeploymentRef, JSONObject, ModelsService


class Embeddings:
    def __init__(self, models: ModelsService) -> None:
        self._models = models

    async def embed(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        response = await self._models.call(deployment.id, EMBEDDINGS.name, body)
        response["model"] = deployment.model
        return response
