"""The event bus on NATS JetStream, for modules in several processes.

One stream (`TWELVE`, subjects `twelve.>`, file storage) holds every event. A publish carries
`Nats-Msg-Id` (the outbox row's id), so a relay that sends an event twice (it crashed before
marking it) stores it once within the stream's duplicate window. Each subscriber is a durable
pull consumer named after it: the events survive its absence, and every process of that
subscriber shares them (each event handled by one of them). A handler's failure is a `nak` with a
growing delay; after `max_deliver` attempts JetStream gives up on the event and says so in a
max-deliveries advisory, on which the event is copied to `twelve_dead.<subject>` (the `TWELVE_DEAD`
stream) for an operator, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import nats
import orjson
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from twelve.kernel.background import cancel_and_wait
from twelve.kernel.event_bus import Event, Handler
from twelve.kernel.telemetry.metrics import EVENTS_DEAD

log = structlog.get_logger("twelve.events")

STREAM = "TWELVE"
DEAD_STREAM = "TWELVE_DEAD"
DUPLICATE_WINDOW_SECONDS = 600.0
MAX_DELIVER = 5
BACKOFF_SECONDS = [1.0, 5.0, 30.0, 120.0]
ACK_WAIT_SECONDS = 30.0
FETCH_WAIT_SECONDS = 1.0
MAX_EVENT_BYTES = 1024 * 1024
# Events and dead letters are kept a week: long enough for a subscriber's outage.
KEEP_SECONDS = 7 * 86400.0


class NatsBus:
    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 5.0,
        max_deliver: int = MAX_DELIVER,
        backoff: list[float] | None = None,
    ) -> None:
        self._url = url
        self._max_deliver = max_deliver
        self._backoff = BACKOFF_SECONDS if backoff is None else backoff
        self._connect_timeout = connect_timeout
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subscriptions: list[tuple[str, str, Handler]] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._nc = await nats.connect(
            self._url,
            connect_timeout=self._connect_timeout,
            max_reconnect_attempts=-1,
            name="twelve",
        )
        self._js = self._nc.jetstream(timeout=self._connect_timeout)
        await _ensure_stream(
            self._js,
            StreamConfig(
                name=STREAM,
                subjects=["twelve.>"],
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
                max_msg_size=MAX_EVENT_BYTES,
                max_age=KEEP_SECONDS,
            ),
        )
        await _ensure_stream(
            self._js,
            StreamConfig(
                name=DEAD_STREAM,
                subjects=["twelve_dead.>"],
                storage=StorageType.FILE,
                max_age=KEEP_SECONDS,
            ),
        )
        for subjects, durable, handler in self._subscriptions:
            await self._consume(subjects, durable, handler)
        advisories = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{STREAM}.*"
        await self._nc.subscribe(advisories, cb=self._on_max_deliveries)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            await cancel_and_wait(task)
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.drain()
            self._nc = None
            self._js = None

    async def publish(self, event: Event) -> None:
        assert self._js is not None, "the bus is not started"
        await self._js.publish(
            event.subject,
            orjson.dumps({"id": event.id, "data": event.data}),
            headers={"Nats-Msg-Id": event.id},
        )

    def subscribe(self, subjects: str, durable: str, handler: Handler) -> None:
        """Registered before `start` (bootstrap builds every module first); consumed from then."""
        self._subscriptions.append((subjects, durable, handler))

    async def _consume(self, subjects: str, durable: str, handler: Handler) -> None:
        assert self._js is not None
        config = ConsumerConfig(
            durable_name=durable,
            filter_subject=subjects,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT_SECONDS,
            max_deliver=self._max_deliver,
            backoff=self._backoff[: self._max_deliver - 1] or None,
        )
        subscription = await self._js.pull_subscribe(subjects, durable, config=config)
        self._tasks.append(asyncio.create_task(self._pull(subscription, durable, handler)))

    async def _pull(self, subscription: Any, durable: str, handler: Handler) -> None:
        while True:
            try:
                messages: list[Msg] = await subscription.fetch(10, timeout=FETCH_WAIT_SECONDS)
            except TimeoutError:
                continue
            except Exception:
                log.exception("event consumer: fetch failed", subscriber=durable)
                await asyncio.sleep(1.0)
                continue
            for message in messages:
                await self._handle(message, durable, handler)

    async def _handle(self, message: Msg, durable: str, handler: Handler) -> None:
        try:
            body = orjson.loads(message.data)
            await handler(Event(str(body["id"]), message.subject, dict(body["data"])))
        except Exception:
            log.exception("event handler failed", subscriber=durable, subject=message.subject)
            await message.nak()  # the consumer's backoff sets the delay
            return
        await message.ack()

    async def _on_max_deliveries(self, advisory: Msg) -> None:
        """Copy the event JetStream gave up on to the dead-letter stream."""
        assert self._js is not None
        try:
            notice = orjson.loads(advisory.data)
            stored = await self._js.get_msg(STREAM, seq=int(notice["stream_seq"]))
            await self._js.publish(
                f"twelve_dead.{stored.subject}",
                stored.data or b"",
                headers={
                    "Nats-Msg-Id": f"dead-{notice['consumer']}-{notice['stream_seq']}",
                    "Twelve-Consumer": str(notice["consumer"]),
                },
            )
            EVENTS_DEAD.labels(str(notice["consumer"])).inc()
            log.warning(
                "event dead-lettered", subscriber=notice["consumer"], subject=stored.subject
            )
        except Exception:
            log.exception("event dead letter: could not copy the event")


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(str(config.name))
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)
