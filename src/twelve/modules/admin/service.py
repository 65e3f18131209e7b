"""Admin commands over other modules' public APIs: customers (credits) and keys (gateway)."""

from __future__ import annotations

from twelve.kernel.errors import NotFound
from twelve.modules.credits.api import CreateCustomer, Customer, CustomersService
from twelve.modules.gateway.api import ApiKey, CreateApiKey, IssuedApiKey, KeysService


class Administration:
    def __init__(self, customers: CustomersService, keys: KeysService) -> None:
        self.customers = customers
        self.keys = keys

    async def create_customer(self, name: str) -> Customer:
        return await self.customers.create_customer(CreateCustomer(name=name))

    async def create_key_for(
        self, customer: str, name: str = "default", models: list[str] | None = None
    ) -> IssuedApiKey:
        """A key for a customer given by id or by name (the CLI takes names)."""
        found = await self.customers.get_customer(customer) or await self.customers.find_customer(
            customer
        )
        if found is None:
            raise NotFound(f"No such customer: {customer!r}.", param="customer")
        return await self.keys.create_key(
            CreateApiKey(customer_id=found.id, name=name, models=models)
        )

    async def list_keys(self, customer_id: str | None = None) -> list[ApiKey]:
        return await self.keys.list_keys(customer_id)

    async def revoke_key(self, key_id: str) -> ApiKey:
        return await self.keys.revoke_key(key_id)
