"""The admin API under `/admin/v1`, guarded by the admin key (never a customer's key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel

from twelve.kernel.errors import AuthenticationFailed, NotFound
from twelve.modules.admin.adapters.admin_key import AdminKeySource
from twelve.modules.admin.service import Administration
from twelve.modules.credits.api import CreateCustomer, Customer
from twelve.modules.gateway.api import ApiKey, CreateApiKey, IssuedApiKey


class ListOf(BaseModel):
    object: str = "list"
    data: list[Any]


def build_router(admin: Administration, admin_key: AdminKeySource) -> APIRouter:
    async def require_admin(authorization: Annotated[str | None, Header()] = None) -> None:
        scheme, token = get_authorization_scheme_param(authorization)
        if scheme.lower() != "bearer" or not token or not admin_key.matches(token):
            raise AuthenticationFailed(
                "The admin API needs the admin key: 'Authorization: Bearer <admin key>'.",
                code="invalid_admin_key",
            )

    router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Depends(require_admin)])

    @router.post("/customers", status_code=201)
    async def create_customer(command: CreateCustomer) -> Customer:
        return await admin.customers.create_customer(command)

    @router.get("/customers")
    async def list_customers() -> ListOf:
        return ListOf(data=await admin.customers.list_customers())

    @router.get("/customers/{customer_id}")
    async def get_customer(customer_id: str) -> Customer:
        customer = await admin.customers.get_customer(customer_id)
        if customer is None:
            raise NotFound(f"No such customer: {customer_id!r}.", param="customer_id")
        return customer

    @router.post("/keys", status_code=201)
    async def create_key(command: CreateApiKey) -> IssuedApiKey:
        return await admin.keys.create_key(command)

    @router.get("/keys")
    async def list_keys(customer_id: str | None = None) -> ListOf:
        return ListOf(data=await admin.list_keys(customer_id))

    @router.delete("/keys/{key_id}")
    async def revoke_key(key_id: str) -> ApiKey:
        return await admin.revoke_key(key_id)

    return router
