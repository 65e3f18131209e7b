"""The chat port over HTTP, for processes that do not serve the chat module themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator

from twelve.kernel.rpc import RpcClient
from twelve.modules.chat.api import ChatService
from twelve.modules.models.api import DeploymentRef, JSONObject


class RemoteChat:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def complete(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        result: JSONObject = await self._rpc.call(
            "complete", {"deployment": deployment, "body": body}
        )
        return result

    def stream(self, deployment: DeploymentRef, body: JSONObject) -> AsyncIterator[JSONObject]:
        return self._rpc.stream("stream", {"deployment": deployment, "body": body})


_: type[ChatService] = RemoteChat
