"""Webhooks end to end inside the module: stored, signed, sent to a real receiver, retried on the
schedule, dead-lettered, replayed; one delivery per `webhook_id`."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from ipaddress import ip_network

import pytest
from prometheus_client import REGISTRY
from standardwebhooks import Webhook
from yarl import URL

from tests.modules.events.receiver import Receiver
from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.modules.events.api import Notify
from twelve.modules.events.callback_guard import ForbiddenAddress, GuardedResolver
from twelve.modules.events.service import EventsService
from twelve.modules.events.settings import EventsSettings

LOOPBACK = [ip_network("127.0.0.0/8")]


def settings(**overrides: object) -> EventsSettings:
    values: dict[str, object] = {
        "retry_schedule": [0.05, 0.05],
        "allow_networks": LOOPBACK,
        "poll_seconds": 0.05,
        "timeout_seconds": 2.0,
    }
    values.update(overrides)
    return EventsSettings.model_validate(values)


@pytest.fixture
async def events(events_db: Database) -> AsyncIterator[EventsService]:
    service = EventsService(events_db, settings())
    await service.sender.start()
    try:
        yield service
    finally:
        await service.sender.stop()


def notify(url: str, webhook_id: str = "msg_1", customer: str = "cus_a") -> Notify:
    return Notify(
        customer_id=customer,
        url=url,
        event_type="job.succeeded",
        data={"job_id": "job_1", "status": "succeeded"},
        webhook_id=webhook_id,
    )


async def settled(events: EventsService, webhook_id: str, seconds: float = 10.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await events.get_delivery(webhook_id)
        assert found is not None
        if found.status != "pending":
            return found.status
        await asyncio.sleep(0.02)
    raise AssertionError(f"{webhook_id} still pending after {seconds} s")


async def test_a_delivery_is_signed_the_standard_webhooks_way(
    events: EventsService, hook: Receiver
) -> None:
    await events.notify(notify(hook.url))
    assert await settled(events, "msg_1") == "delivered"

    (sent,) = hook.received
    secret = (await events.signing_secret("cus_a")).secret
    payload = Webhook(secret).verify(sent.body, sent.headers)
    assert payload["type"] == "job.succeeded"
    assert payload["data"] == {"job_id": "job_1", "status": "succeeded"}
    assert sent.headers["webhook-id"] == "msg_1"
    assert abs(int(sent.headers["webhook-timestamp"]) - time.time()) < 10
    assert sent.headers["Content-Type"] == "application/json"
    delivery = await events.get_delivery("msg_1")
    assert delivery is not None and delivery.attempts == 1 and delivery.last_status_code == 200


async def test_one_webhook_id_is_one_delivery(events: EventsService, hook: Receiver) -> None:
    first = await events.notify(notify(hook.url))
    again = await events.notify(notify(hook.url))
    assert again.id == first.id
    assert await settled(events, "msg_1") == "delivered"
    await asyncio.sleep(0.2)
    assert len(hook.received) == 1


async def test_failures_are_retried_then_delivered_with_the_same_id(
    events: EventsService, hook: Receiver
) -> None:
    hook.statuses = [500, 503]
    await events.notify(notify(hook.url))
    assert await settled(events, "msg_1") == "delivered"
    assert [r.headers["webhook-id"] for r in hook.received] == ["msg_1"] * 3
    assert len({r.body for r in hook.received}) == 1  # the same body, signed afresh each time


async def test_exhausted_attempts_dead_letter_and_an_admin_replays(
    events: EventsService, hook: Receiver
) -> None:
    dead_before = REGISTRY.get_sample_value("twelve_webhook_attempts_total", {"outcome": "dead"})
    hook.statuses = [500, 500, 500]
    await events.notify(notify(hook.url))
    assert await settled(events, "msg_1") == "dead"
    delivery = await events.get_delivery("msg_1")
    assert delivery is not None
    assert delivery.attempts == 3 and delivery.last_status_code == 500
    assert "500" in (delivery.last_error or "")
    page = await events.list_deliveries(status="dead")
    assert [d.id for d in page.data] == ["msg_1"]
    dead_after = REGISTRY.get_sample_value("twelve_webhook_attempts_total", {"outcome": "dead"})
    assert (dead_after or 0) - (dead_before or 0) == 1

    replayed = await events.retry_delivery("msg_1")
    assert replayed.status == "pending" and replayed.attempts == 0
    assert await settled(events, "msg_1") == "delivered"
    assert len(hook.received) == 4
    with pytest.raises(NotFound):
        await events.retry_delivery("msg_unknown")


async def test_a_redirect_is_a_failure_never_followed(
    events: EventsService, hook: Receiver
) -> None:
    hook.redirect_to = hook.url + "/elsewhere"
    await events.notify(notify(hook.url))
    assert await settled(events, "msg_1") == "dead"
    assert len(hook.received) == 3  # three attempts at the callback, none at the redirect
    delivery = await events.get_delivery("msg_1")
    assert delivery is not None and delivery.last_status_code == 302


async def test_a_hanging_receiver_times_out(events_db: Database, hook: Receiver) -> None:
    events = EventsService(events_db, settings(timeout_seconds=0.3, retry_schedule=[]))
    await events.sender.start()
    try:
        hook.hang = True
        started = time.monotonic()
        await events.notify(notify(hook.url))
        assert await settled(events, "msg_1") == "dead"
        assert time.monotonic() - started < 3
        delivery = await events.get_delivery("msg_1")
        assert delivery is not None and "timeout" in (delivery.last_error or "").lower()
    finally:
        await events.sender.stop()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://localhost/hook",
        "ftp://example.com/hook",
        "http://user:pw@example.com/hook",
        "not a url",
    ],
)
async def test_private_and_malformed_callbacks_are_refused_by_default(
    events_db: Database, url: str
) -> None:
    events = EventsService(events_db, EventsSettings())
    with pytest.raises(InvalidRequest) as refused:
        await events.notify(notify(url))
    assert refused.value.param == "callback_url"
    assert (await events.list_deliveries()).data == []


async def test_a_name_resolving_to_a_private_address_is_refused_when_sent(
    events_db: Database, hook: Receiver
) -> None:
    # The machine's own name resolves to loopback: it passes `notify`'s check (a name, not a
    # literal) as a rebinding name would, and the connection's resolver refuses it.
    name = socket.gethostname()
    port = URL(hook.url).port
    events = EventsService(events_db, settings(allow_networks=[], retry_schedule=[]))
    await events.sender.start()
    try:
        await events.notify(notify(f"http://{name}:{port}/hook"))
        assert await settled(events, "msg_1") == "dead"
        delivery = await events.get_delivery("msg_1")
        assert delivery is not None and (delivery.last_error or "").startswith("refused")
        assert hook.received == []
    finally:
        await events.sender.stop()


async def test_the_resolver_keeps_only_allowed_addresses() -> None:
    with pytest.raises(ForbiddenAddress):
        await GuardedResolver([]).resolve("localhost", 80)
    kept = await GuardedResolver(LOOPBACK).resolve("localhost", 80)
    assert {r["host"] for r in kept} <= {"127.0.0.1", "::1"} and kept


async def test_a_rotated_secret_signs_beside_the_new_one_for_its_grace(
    events: EventsService, hook: Receiver
) -> None:
    old = await events.signing_secret("cus_a")
    new = await events.rotate_signing_secret("cus_a")
    assert new.secret != old.secret and new.secret.startswith("whsec_")
    await events.notify(notify(hook.url))
    assert await settled(events, "msg_1") == "delivered"
    (sent,) = hook.received
    assert len(sent.headers["webhook-signature"].split(" ")) == 2
    Webhook(old.secret).verify(sent.body, sent.headers)
    Webhook(new.secret).verify(sent.body, sent.headers)


async def test_secrets_are_per_customer(events: EventsService) -> None:
    a = await events.signing_secret("cus_a")
    assert (await events.signing_secret("cus_a")).secret == a.secret
    assert (await events.signing_secret("cus_b")).secret != a.secret


async def test_two_senders_deliver_each_webhook_once(events_db: Database, hook: Receiver) -> None:
    one = EventsService(events_db, settings())
    two = EventsService(events_db, settings())
    for n in range(20):
        await one.notify(notify(hook.url, webhook_id=f"msg_{n:02}"))
    await one.sender.start()
    await two.sender.start()
    try:
        await hook.wait_for(20)
        await asyncio.sleep(0.3)
        received = Counter(r.headers["webhook-id"] for r in hook.received)
        assert sorted(received) == [f"msg_{n:02}" for n in range(20)]
        # Delivery is at least once: a send cut off after the receiver had it (a dropped
        # keep-alive connection on a loaded machine) is retried, and the retry is recorded. A
        # delivery both senders claimed would arrive more often than it was attempted.
        for webhook_id, times in received.items():
            delivery = await one.get_delivery(webhook_id)
            assert delivery is not None and delivery.status == "delivered"
            assert times <= delivery.attempts, (webhook_id, times, delivery)
    finally:
        await one.sender.stop()
        await two.sender.stop()
