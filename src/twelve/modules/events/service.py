"""The events service: webhooks asked for, stored, then sent by the sender (`sender.py`)."""

from __future__ import annotations

import time

import orjson

from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.modules.events.api import (
    DeliveryStatus,
    Notify,
    SigningSecret,
    WebhookDelivery,
    WebhookPage,
)
from twelve.modules.events.callback_guard import check_url
from twelve.modules.events.deliveries import Deliveries
from twelve.modules.events.secret_book import SecretBook
from twelve.modules.events.sender import Sender
from twelve.modules.events.settings import EventsSettings


class EventsService:
    def __init__(self, database: Database, settings: EventsSettings) -> None:
        self._settings = settings
        self._deliveries = Deliveries(database)
        self._secrets = SecretBook(database, settings.rotation_grace_seconds)
        self.sender = Sender(self._deliveries, self._secrets, settings)

    async def check_callback(self, url: str) -> None:
        check_url(url, self._settings.allow_networks)

    async def notify(self, command: Notify) -> WebhookDelivery:
        check_url(command.url, self._settings.allow_networks)
        now = time.time()
        # Standard Webhooks' payload: the event's type, when it happened, and its data.
        payload = orjson.dumps(
            {
                "type": command.event_type,
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                "data": command.data,
            }
        ).decode()
        if len(payload) > self._settings.max_payload_bytes:
            raise InvalidRequest(
                f"The webhook's data is over {self._settings.max_payload_bytes} bytes.",
                param="data",
            )
        delivery, created = await self._deliveries.add(
            {
                "id": command.webhook_id,
                "customer_id": command.customer_id,
                "url": command.url,
                "event_type": command.event_type,
                "payload": payload,
                "traceparent": command.traceparent,
                "status": "pending",
                "attempts": 0,
                "created_at": int(now),
                "next_attempt_ms": int(now * 1000),
            }
        )
        if created:
            self.sender.wake()
        return delivery

    async def get_delivery(self, webhook_id: str) -> WebhookDelivery | None:
        return await self._deliveries.get(webhook_id)

    async def list_deliveries(
        self,
        status: DeliveryStatus | None = None,
        customer_id: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> WebhookPage:
        if not 1 <= limit <= 1000:
            raise InvalidRequest("'limit' must be between 1 and 1000.", param="limit")
        return await self._deliveries.page(status, customer_id, limit, after)

    async def retry_delivery(self, webhook_id: str) -> WebhookDelivery:
        if not await self._deliveries.requeue(webhook_id, int(time.time() * 1000)):
            raise NotFound(f"No such webhook delivery: {webhook_id!r}.", param="webhook_id")
        self.sender.wake()
        found = await self._deliveries.get(webhook_id)
        assert found is not None
        return found

    async def signing_secret(self, customer_id: str) -> SigningSecret:
        return await self._secrets.current(customer_id)

    async def rotate_signing_secret(self, customer_id: str) -> SigningSecret:
        return await self._secrets.rotate(customer_id)
