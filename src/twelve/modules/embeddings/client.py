"""The embeddings port over HTTP, for processes that do not serve the embeddings module."""

from __future__ import annotations

from twelve.kernel.rpc import RpcClient
from twelve.modules.embeddings.api import EmbeddingsService
from twelve.modules.models.api import DeploymentRef, JSONObject


class RemoteEmbeddings:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def embed(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        result: JSONObject = await self._rpc.call("embed", {"deployment": deployment, "body": body})
        return result


_: type[EmbeddingsService] = RemoteEmbeddings
