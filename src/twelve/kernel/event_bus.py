"""The event bus port: domain events between modules, published from each module's outbox.

An event is `{id, subject, data}`; the subject is `twelve.<module>.<type>` (`twelve.gateway.key.
created`). Delivery is at least once: a subscriber may see an event again (after a relay restart,
a failed handler, a redelivery) and must be idempotent on the event's `id`. Two implementations:
in process (`InProcessBus`, the embedded default) and NATS JetStream (`nats_bus.py`, when
`TWELVE_NATS_URL` is set), chosen by the composition root.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

log = structlog.get_logger("twelve.events")


@dataclass(frozen=True)
class Event:
    id: str
    subject: str
    data: dict[str, Any]


Handler = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, event: Event) -> None:
        """Hand `event` to the bus; raises if it could not be taken (the relay tries again)."""
        ...

    def subscribe(self, subjects: str, durable: str, handler: Handler) -> None:
        """Call `handler` for every event whose subject matches `subjects` (NATS wildcards:
        `*` one token, `>` the rest); `durable` names the subscriber, one delivery per name."""
        ...


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, a final `>` one or more."""
    wanted, got = pattern.split("."), subject.split(".")
    if wanted[-1] == ">":
        head = wanted[:-1]
        return len(got) > len(head) and all(w in ("*", g) for w, g in zip(head, got, strict=False))
    return len(wanted) == len(got) and all(w in ("*", g) for w, g in zip(wanted, got, strict=True))


class InProcessBus:
    """Calls the matching handlers, in order, before `publish` returns; a handler's failure
    fails the publish, so the outbox keeps the event and the relay delivers it again (to every
    subscriber: they are idempotent)."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str, str, Handler]] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, event: Event) -> None:
        for pattern, durable, handler in self._subscribers:
            if matches(pattern, event.subject):
                try:
                    await handler(event)
                except Exception:
                    log.exception("event handler failed", subscriber=durable, event_id=event.id)
                    raise

    def subscribe(self, subjects: str, durable: str, handler: Handler) -> None:
        self._subscribers.append((subjects, durable, handler))
