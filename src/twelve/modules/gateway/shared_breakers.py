"""Breaker state shared by every gateway process through Redis (`TWELVE_REDIS_URL`): when one
process ejects a deployment, the others stop sending to it too.

Never a Redis round trip per request. Only transitions travel, from background tasks:

- a process's own ejection sets `<prefix>:<deployment>` to {until, ejections, origin}, expiring
  when the ejection ends, and publishes it on `<prefix>` (pub/sub); its own closing (a probe
  succeeded) deletes the key and publishes that;
- every process listens on the channel and, every `poll_seconds`, reads the keys (pub/sub loses
  what is sent while a process is disconnected, and a process that starts learns what is
  already ejected), and applies them to its board in memory (`StatsBoard.adopt`/`restore`).

Times travel as wall-clock seconds and are turned into this process's monotonic clock on
arrival. When the ejection time ends, each process lets one half-open probe through on its own
(at most one per process per interval). Redis being down fails open: logged once, local breakers
keep working alone, and sharing resumes when Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import Any

import orjson
import redis.asyncio
from redis.exceptions import RedisError

from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import BREAKER_SHARED_EVENTS
from twelve.modules.gateway.breaker import Breaker
from twelve.modules.gateway.deployment_stats import StatsBoard

log = get_logger("twelve.gateway.shared_breakers")

_MAX_WAITING = 1000  # transitions waiting to be published; the oldest go first when full
_MAX_MESSAGE_BYTES = 4096  # a message larger than any we send is not ours: ignored
_FAILURES = (RedisError, OSError, TimeoutError)


class SharedBreakers:
    def __init__(
        self,
        board: StatsBoard,
        url: str,
        *,
        prefix: str = "twelve:breaker",
        poll_seconds: float = 5.0,
        clock: Callable[[], float] = monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._board = board
        self._url = url
        self._prefix = prefix
        self._poll = poll_seconds
        self._clock = clock
        self._wall = wall
        self.origin = secrets.token_hex(8)
        self._waiting: deque[dict[str, Any]] = deque(maxlen=_MAX_WAITING)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: redis.asyncio.Redis | None = None
        self._down = False

    async def start(self) -> None:
        self._client = redis.asyncio.Redis.from_url(
            self._url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
        )
        self._board.listen(self._transition)
        self._tasks = [
            asyncio.create_task(self._publish_loop(), name="breakers-publish"),
            asyncio.create_task(self._follow_loop(), name="breakers-follow"),
        ]

    async def stop(self) -> None:
        self._board.listen(None)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _transition(self, breaker: Breaker) -> None:
        """Called by a breaker, on the request's path: only queues (no I/O here)."""
        message: dict[str, Any] = {"d": breaker.deployment, "o": self.origin, "s": breaker.state}
        if breaker.state == "open":
            message["u"] = self._wall() + (breaker.ejected_until - self._clock())
            message["n"] = breaker.recent_ejections
        self._waiting.append(message)
        self._wake.set()

    async def _publish_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                message = self._waiting[0]
                try:
                    await self._publish(message)
                except _FAILURES as exc:
                    self._failed(exc)
                    await asyncio.sleep(1.0)
                    break
                self._waiting.popleft()
                self._recovered()
            if self._waiting:
                self._wake.set()

    async def _publish(self, message: dict[str, Any]) -> None:
        assert self._client is not None
        key = f"{self._prefix}:{message['d']}"
        payload = orjson.dumps(message)
        async with self._client.pipeline(transaction=False) as pipe:
            if message["s"] == "open":
                ttl_ms = int((message["u"] - self._wall()) * 1000)
                if ttl_ms <= 0:
                    return
                pipe.set(key, payload, px=ttl_ms)
            else:
                pipe.delete(key)
            pipe.publish(self._prefix, payload)
            await pipe.execute()
        BREAKER_SHARED_EVENTS.labels("published").inc()

    async def _follow_loop(self) -> None:
        while True:
            try:
                await self._follow()
            except _FAILURES as exc:
                self._failed(exc)
                await asyncio.sleep(1.0)

    async def _follow(self) -> None:
        assert self._client is not None
        async with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(self._prefix)
            await self._read_keys()
            self._recovered()
            next_poll = self._clock() + self._poll
            while True:
                left = max(0.0, next_poll - self._clock())
                message = await pubsub.get_message(timeout=min(left, 1.0))
                if message is not None and message.get("type") == "message":
                    self._apply(message.get("data"))
                if self._clock() >= next_poll:
                    await self._read_keys()
                    next_poll = self._clock() + self._poll

    async def _read_keys(self) -> None:
        assert self._client is not None
        keys = [k async for k in self._client.scan_iter(match=f"{self._prefix}:*", count=200)]
        if keys:
            for value in await self._client.mget(keys):
                self._apply(value)

    def _apply(self, raw: object) -> None:
        if not isinstance(raw, bytes | str) or len(raw) > _MAX_MESSAGE_BYTES:
            return
        try:
            message = orjson.loads(raw)
            deployment, origin, state = message["d"], message["o"], message["s"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return
        if origin == self.origin or not isinstance(deployment, str):
            return
        now = self._clock()
        if state == "open":
            try:
                until = now + (float(message["u"]) - self._wall())
                ejections = int(message.get("n", 1))
            except (KeyError, TypeError, ValueError):
                return
            self._board.adopt(deployment, until, ejections, now)
        elif state == "closed":
            self._board.restore(deployment, now)
        else:
            return
        BREAKER_SHARED_EVENTS.labels("applied").inc()

    def _failed(self, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            log.warning(
                "breaker_sharing_unavailable",
                error=f"{type(exc).__name__}: {exc}"[:200],
                note="breakers keep working in this process alone",
            )

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            log.info("breaker_sharing_restored")
