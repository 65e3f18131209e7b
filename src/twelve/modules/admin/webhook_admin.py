"""Admin over webhooks: deliveries (dead ones to inspect and replay) and customers' signing secrets.

A customer is named by id or by name, as everywhere in admin; its secret is made on first read.
"""

from __future__ import annotations

from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.modules.admin.service import Administration, printable
from twelve.modules.events.api import (
    DeliveryStatus,
    EventsService,
    SigningSecret,
    WebhookDelivery,
    WebhookPage,
)

STATUSES: tuple[DeliveryStatus, ...] = ("pending", "delivered", "dead")


class WebhookAdministration:
    def __init__(self, admin: Administration, events: EventsService) -> None:
        self._admin = admin
        self._events = events

    async def deliveries(
        self,
        status: str | None,
        customer: str | None,
        limit: int,
        after: str | None,
    ) -> WebhookPage:
        if status is not None and status not in STATUSES:
            raise InvalidRequest(
                f"Invalid 'status': use one of {', '.join(STATUSES)}.", param="status"
            )
        customer_id = None
        if customer is not None:
            customer_id = (await self._admin.customer(customer, "customer_id")).id
        if after is not None:
            printable(after, "after")
        return await self._events.list_deliveries(
            status,  # checked against STATUSES above
            customer_id,
            limit,
            after,
        )

    async def delivery(self, webhook_id: str) -> WebhookDelivery:
        found = await self._events.get_delivery(printable(webhook_id, "webhook_id"))
        if found is None:
            raise NotFound(f"No such webhook delivery: {webhook_id!r}.", param="webhook_id")
        return found

    async def replay(self, webhook_id: str) -> WebhookDelivery:
        return await self._events.retry_delivery(printable(webhook_id, "webhook_id"))

    async def secret(self, customer: str) -> SigningSecret:
        found = await self._admin.customer(customer)
        return await self._events.signing_secret(found.id)

    async def rotate_secret(self, customer: str) -> SigningSecret:
        found = await self._admin.customer(customer)
        return await self._events.rotate_signing_secret(found.id)
