"""Public surface of the credits module. This slice holds customers; balances and the ledger
(hold → settle → release) come next and extend this port."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.kernel.text import PrintableStr

__all__ = ["CreateCustomer", "Customer", "CustomersService"]


class CreateCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PrintableStr = Field(
        min_length=1,
        max_length=200,
        pattern=r"^\S(.*\S)?$",
        description="Unique; no leading or trailing spaces, no control characters.",
    )


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    created_at: int


class CustomersService(Protocol):
    async def create_customer(self, command: CreateCustomer) -> Customer:
        """Raises `Conflict` when the name is taken."""
        ...

    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def find_customer(self, name: str) -> Customer | None: ...

    async def list_customers(self) -> list[Customer]: ...
