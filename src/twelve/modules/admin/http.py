"""The admin API under `/admin/v1`, guarded by the admin key (never a customer's key).

Bodies follow the rule of every JSON route: parsed as JSON whatever the Content-Type says (or
lacks), and a body that is not a JSON object is a 400. Customers are addressed by id or name.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, ValidationError

from twelve.kernel.errors import AuthenticationFailed, InvalidRequest
from twelve.kernel.http_errors import from_validation_error
from twelve.modules.admin.adapters.admin_key import AdminKeySource
from twelve.modules.admin.job_routes import job_router
from twelve.modules.admin.models_view import ModelRouting
from twelve.modules.admin.service import Administration
from twelve.modules.admin.webhook_admin import WebhookAdministration
from twelve.modules.admin.webhook_routes import webhook_router
from twelve.modules.admin.workflow_routes import workflow_router
from twelve.modules.credits.api import (
    Account,
    AddCredits,
    CreateCustomer,
    CreditGrant,
    UpdateCustomer,
    UsageBucket,
)
from twelve.modules.gateway.api import (
    ApiKey,
    CreateApiKey,
    IssuedApiKey,
    KeyPage,
    RotateApiKey,
    UpdateApiKey,
)

M = TypeVar("M", bound=BaseModel)


class ListOf(BaseModel):
    object: str = "list"
    data: list[Any]


class KeyList(BaseModel):
    """A page of keys in OpenAI's list shape; the next page is `?after=<last_id>`."""

    object: str = "list"
    data: list[ApiKey]
    has_more: bool
    first_id: str | None
    last_id: str | None

    @classmethod
    def of(cls, page: KeyPage) -> KeyList:
        ids = [key.id for key in page.data]
        return cls(
            data=page.data,
            has_more=page.has_more,
            first_id=ids[0] if ids else None,
            last_id=ids[-1] if ids else None,
        )


async def read_command(request: Request, model: type[M]) -> M:
    """The body as `model`: JSON whatever the Content-Type, an object, valid; else a 400."""
    raw = await request.body()
    if not raw.strip():
        raise InvalidRequest("The request body is empty; send a JSON object.")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0] if exc.error_count() else None
        if first is not None and first["type"] == "json_invalid":
            raise InvalidRequest("We could not parse the JSON body of your request.") from None
        if first is not None and first["type"] == "model_type" and not first["loc"]:
            raise InvalidRequest("The request body must be a JSON object.") from None
        raise from_validation_error(exc) from None


def _body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """The OpenAPI `requestBody` of a route that reads its body itself."""
    schema = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": required, "content": schema}}


def build_router(admin: Administration, admin_key: AdminKeySource) -> APIRouter:
    async def require_admin(authorization: Annotated[str | None, Header()] = None) -> None:
        scheme, token = get_authorization_scheme_param(authorization)
        if scheme.lower() != "bearer" or not token or not admin_key.matches(token):
            raise AuthenticationFailed(
                "The admin API needs the admin key: 'Authorization: Bearer <admin key>'.",
                code="invalid_admin_key",
            )

    router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Depends(require_admin)])

    @router.post("/customers", status_code=201, openapi_extra=_body(CreateCustomer))
    async def create_customer(request: Request) -> Account:
        return await admin.create_account(await read_command(request, CreateCustomer))

    @router.get("/customers")
    async def list_customers() -> ListOf:
        return ListOf(data=await admin.list_customers())

    @router.get("/customers/{customer}", description="A customer by id or by name.")
    async def get_customer(customer: str) -> Account:
        return await admin.account(customer, "customer")

    @router.patch(
        "/customers/{customer}",
        openapi_extra=_body(UpdateCustomer),
        description="Change a customer (by id or name): only the fields sent; a limit sent as "
        "null is cleared. Its keys see new limits within the key cache's time.",
    )
    async def update_customer(customer: str, request: Request) -> Account:
        return await admin.update_customer(customer, await read_command(request, UpdateCustomer))

    @router.post(
        "/customers/{customer}/credits",
        openapi_extra=_body(AddCredits),
        description="Add prepaid credits (USD). With `Idempotency-Key`, a retried top-up "
        "credits once and answers as the first did.",
    )
    async def add_credits(
        customer: str,
        request: Request,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> CreditGrant:
        command = await read_command(request, AddCredits)
        return await admin.add_credits(customer, command, idempotency_key)

    @router.get("/customers/{customer}/ledger", description="Newest entries first.")
    async def ledger(customer: str, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> ListOf:
        return ListOf(data=await admin.ledger(customer, limit))

    @router.post(
        "/keys",
        status_code=201,
        openapi_extra=_body(CreateApiKey),
        description="`customer_id` may be the customer's id or name.",
    )
    async def create_key(request: Request) -> IssuedApiKey:
        return await admin.create_key(await read_command(request, CreateApiKey))

    @router.get("/keys", description="Oldest first; the next page is `?after=<last_id>`.")
    async def list_keys(
        customer_id: Annotated[
            str | None, Query(description="Only this customer's keys (its id or name).")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        after: Annotated[
            str | None, Query(description="The `last_id` of the previous page.")
        ] = None,
    ) -> KeyList:
        return KeyList.of(await admin.list_keys(customer_id, "customer_id", limit, after))

    @router.get("/keys/{key_id}")
    async def get_key(key_id: str) -> ApiKey:
        return await admin.key(key_id, "key_id")

    @router.patch(
        "/keys/{key_id}",
        openapi_extra=_body(UpdateApiKey),
        description="Change a key: only the fields sent; a field sent as null is cleared "
        "(`models: null` allows every model). Takes effect within the key cache's time.",
    )
    async def update_key(key_id: str, request: Request) -> ApiKey:
        return await admin.update_key(key_id, await read_command(request, UpdateApiKey), "key_id")

    @router.post(
        "/keys/{key_id}/rotate",
        openapi_extra=_body(RotateApiKey, required=False),
        description="A new secret for the same key, shown now and never again; the old one keeps "
        "working for `grace_seconds` (default 3600; 0 ends it at once).",
    )
    async def rotate_key(key_id: str, request: Request) -> IssuedApiKey:
        raw = await request.body()
        command = await read_command(request, RotateApiKey) if raw.strip() else RotateApiKey()
        return await admin.rotate_key(key_id, command, "key_id")

    @router.delete("/keys/{key_id}")
    async def revoke_key(key_id: str) -> ApiKey:
        return await admin.revoke_key(key_id, "key_id")

    # Models and their deployments' health.

    @router.get(
        "/models",
        description="Every model with its strategy and fallbacks, and every deployment with its "
        "priority, weight, active health (last check, status), circuit breaker (state, ejected "
        "until, ejections), latency average and requests in flight, as this process sees them.",
    )
    async def models() -> ModelsView:
        return ModelsView(data=await admin.models_view())

    # Usage reports.

    @router.get(
        "/usage",
        description="Requests, tokens, units (images, audio seconds, characters) and cost "
        "per UTC day, model, key or customer. "
        "`customer_id` may be the customer's id or name; `from`/`to`: unix seconds or "
        "YYYY-MM-DD (a `to` date includes that day).",
    )
    async def usage(
        customer_id: str | None = None,
        key_id: str | None = None,
        model: str | None = None,
        since: Annotated[str | None, Query(alias="from")] = None,
        until: Annotated[str | None, Query(alias="to")] = None,
        group_by: Annotated[str, Query(description="day, model, key or customer.")] = "day",
    ) -> UsageReport:
        buckets = await admin.usage(
            customer=customer_id,
            key_id=key_id,
            model=model,
            since=since,
            until=until,
            group_by=group_by,
        )
        return UsageReport(group_by=group_by, data=buckets)

    if admin.events is not None:
        router.include_router(webhook_router(WebhookAdministration(admin, admin.events)))
    if admin.jobs is not None:
        router.include_router(job_router(admin.jobs))
    if admin.workflows is not None:
        router.include_router(workflow_router(admin, admin.workflows))
    return router


class ModelsView(BaseModel):
    object: str = "list"
    data: list[ModelRouting]


class UsageReport(BaseModel):
    object: str = "list"
    group_by: str
    data: list[UsageBucket]
