"""Public surface of the events module: signed webhooks, delivered at least once, and the secrets
that sign them.

A module that must tell a customer something (a job ended, a workflow finished) asks for a
webhook with `notify`. The delivery is stored before `notify` returns and is then retried with
backoff until the receiver answers 2xx or the attempts run out, when it is dead-lettered (an admin
can list and replay dead deliveries). Every attempt of one delivery carries the same
`webhook-id`: `notify` with a `webhook_id` already stored returns that delivery and queues nothing
new, so a caller that runs twice (a job re-run after a crash) cannot make two deliveries.
Deliveries are signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`,
`webhook-signature`) with the customer's signing secret. Outbound addresses are checked: loopback,
private, link-local and metadata addresses are refused unless the config allow-lists them.

Domain events between modules travel through the kernel's outbox and event bus
(`twelve.kernel`), not through this port.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.kernel.commands import command
from twelve.kernel.text import PrintableStr

__all__ = [
    "DeliveryStatus",
    "EventsService",
    "Notify",
    "SigningSecret",
    "WebhookDelivery",
    "WebhookPage",
]

DeliveryStatus = Literal["pending", "delivered", "dead"]


class Notify(BaseModel):
    """Deliver `data` to `url` as a webhook of `event_type`, signed with the customer's secret."""

    model_config = ConfigDict(extra="forbid")

    customer_id: PrintableStr = Field(min_length=1, max_length=200)
    url: PrintableStr = Field(min_length=1, max_length=2048)
    event_type: PrintableStr = Field(min_length=1, max_length=100, examples=["job.succeeded"])
    data: dict[str, Any]
    webhook_id: PrintableStr = Field(
        min_length=1,
        max_length=200,
        description="Stable across retries and re-runs; one delivery per id.",
    )
    traceparent: str | None = Field(default=None, max_length=55)


class WebhookDelivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="The `webhook-id` every attempt carries.")
    customer_id: str
    url: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None = None
    last_status_code: int | None = None
    created_at: int
    next_attempt_at: int | None = None
    delivered_at: int | None = None


class WebhookPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    data: list[WebhookDelivery]
    has_more: bool


class SigningSecret(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    secret: str = Field(description="`whsec_` followed by base64, as Standard Webhooks defines.")
    created_at: int


class EventsService(Protocol):
    @command
    async def notify(self, command: Notify) -> WebhookDelivery:
        """Store the delivery (or return the one stored under its `webhook_id`) and queue it.
        `InvalidRequest` (param `callback_url`) when the URL is not an allowed http(s) URL."""
        ...

    async def check_callback(self, url: str) -> None:
        """`InvalidRequest` (param `callback_url`) when `notify` would refuse `url`: for callers
        that must refuse a bad URL before they keep anything."""
        ...

    async def get_delivery(self, webhook_id: str) -> WebhookDelivery | None: ...

    async def list_deliveries(
        self,
        status: DeliveryStatus | None = None,
        customer_id: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> WebhookPage: ...

    @command
    async def retry_delivery(self, webhook_id: str) -> WebhookDelivery:
        """Queue a dead (or pending) delivery again with a fresh attempt count; `NotFound`."""
        ...

    async def signing_secret(self, customer_id: str) -> SigningSecret:
        """The customer's secret, made on first use."""
        ...

    @command
    async def rotate_signing_secret(self, customer_id: str) -> SigningSecret: ...
