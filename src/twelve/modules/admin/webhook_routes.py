"""Admin routes for webhooks, under the admin router (`/admin/v1`, the admin key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from twelve.modules.admin.webhook_admin import WebhookAdministration
from twelve.modules.events.api import SigningSecret, WebhookDelivery


class WebhookList(BaseModel):
    """A page of deliveries in OpenAI's list shape; the next page is `?after=<last_id>`."""

    object: str = "list"
    data: list[WebhookDelivery]
    has_more: bool
    first_id: str | None
    last_id: str | None


def webhook_router(webhooks: WebhookAdministration) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/webhooks",
        description="Webhook deliveries by id; `status=dead` lists the dead letters.",
    )
    async def list_webhooks(
        status: Annotated[str | None, Query(description="pending, delivered or dead.")] = None,
        customer_id: Annotated[str | None, Query(description="The customer's id or name.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        after: str | None = None,
    ) -> WebhookList:
        page = await webhooks.deliveries(status, customer_id, limit, after)
        ids = [delivery.id for delivery in page.data]
        return WebhookList(
            data=page.data,
            has_more=page.has_more,
            first_id=ids[0] if ids else None,
            last_id=ids[-1] if ids else None,
        )

    @router.get("/webhooks/{webhook_id}")
    async def get_webhook(webhook_id: str) -> WebhookDelivery:
        return await webhooks.delivery(webhook_id)

    @router.post(
        "/webhooks/{webhook_id}/retry",
        description="Send the delivery again from its first attempt (a dead letter's replay).",
    )
    async def retry_webhook(webhook_id: str) -> WebhookDelivery:
        return await webhooks.replay(webhook_id)

    @router.get(
        "/customers/{customer}/webhook-secret",
        description="The customer's Standard Webhooks signing secret (made on first read).",
    )
    async def webhook_secret(customer: str) -> SigningSecret:
        return await webhooks.secret(customer)

    @router.post(
        "/customers/{customer}/webhook-secret/rotate",
        description="A new secret; the old one still signs beside it for a grace period "
        "(TWELVE_EVENTS_ROTATION_GRACE_SECONDS).",
    )
    async def rotate_webhook_secret(customer: str) -> SigningSecret:
        return await webhooks.rotate_secret(customer)

    return router
