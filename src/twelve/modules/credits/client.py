"""The credits port over HTTP, for processes that do not serve the credits module themselves."""

from __future__ import annotations

from twelve.kernel.rpc import RpcClient
from twelve.modules.credits.api import CreateCustomer, Customer, CustomersService


class RemoteCredits:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def create_customer(self, command: CreateCustomer) -> Customer:
        return Customer.model_validate(
            await self._rpc.call("create_customer", {"command": command})
        )

    async def get_customer(self, customer_id: str) -> Customer | None:
        found = await self._rpc.call("get_customer", {"customer_id": customer_id})
        return Customer.model_validate(found) if found else None

    async def find_customer(self, name: str) -> Customer | None:
        found = await self._rpc.call("find_customer", {"name": name})
        return Customer.model_validate(found) if found else None

    async def list_customers(self) -> list[Customer]:
        return [Customer.model_validate(c) for c in await self._rpc.call("list_customers", {})]


_: type[CustomersService] = RemoteCredits
