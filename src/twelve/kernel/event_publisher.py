"""Events published straight to the bus, not through an outbox: for modules that keep no tables
(images, audio) and whose events are notices (usage recorded), not state changes another module
must not miss. A publish that fails is logged and dropped; the request it describes is not failed
by it (its usage row and cost are the gateway's and credits' own, written regardless).
"""

from __future__ import annotations

import secrets
from typing import Any

from twelve.kernel.event_bus import Event, EventBus
from twelve.kernel.telemetry.logging import get_logger

log = get_logger("twelve.events.publisher")


class EventPublisher:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def publish(self, subject: str, data: dict[str, Any]) -> None:
        event = Event(id=f"evt_{secrets.token_hex(12)}", subject=subject, data=data)
        try:
            await self._bus.publish(event)
        except Exception as exc:
            log.warning("event_dropped", subject=subject, cause=f"{type(exc).__name__}: {exc}")
