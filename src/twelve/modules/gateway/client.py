"""The gateway's keys port over HTTP, for an admin module served in another process."""

from __future__ import annotations

from twelve.kernel.rpc import RpcClient
from twelve.modules.gateway.api import ApiKey, CreateApiKey, IssuedApiKey, KeysService, Principal


class RemoteKeys:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def create_key(self, command: CreateApiKey) -> IssuedApiKey:
        return IssuedApiKey.model_validate(await self._rpc.call("create_key", {"command": command}))

    async def list_keys(self, customer_id: str | None = None) -> list[ApiKey]:
        keys = await self._rpc.call("list_keys", {"customer_id": customer_id})
        return [ApiKey.model_validate(k) for k in keys]

    async def revoke_key(self, key_id: str) -> ApiKey:
        return ApiKey.model_validate(await self._rpc.call("revoke_key", {"key_id": key_id}))

    async def authenticate(self, key: str) -> Principal | None:
        found = await self._rpc.call("authenticate", {"key": key})
        return Principal.model_validate(found) if found else None


_: type[KeysService] = RemoteKeys
