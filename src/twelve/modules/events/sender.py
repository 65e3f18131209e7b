"""Sends due webhooks: one background task per serving process, woken by `notify`, polling too.

An attempt is one POST of the stored body, signed afresh (its `webhook-timestamp` is the
attempt's), with no redirect followed, a total timeout, and at most `max_response_bytes` of the
answer read. A 2xx delivers it; anything else (another status, a redirect, a refused address,
a timeout, a reset) waits the schedule's next interval, and after the last one the delivery is
dead, left for an admin to replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import structlog

from twelve.kernel.background import cancel_and_wait
from twelve.kernel.telemetry.metrics import WEBHOOK_ATTEMPTS
from twelve.modules.events.callback_guard import GuardedResolver, check_url, describe
from twelve.modules.events.deliveries import Deliveries, Due
from twelve.modules.events.secret_book import SecretBook
from twelve.modules.events.settings import EventsSettings
from twelve.modules.events.signing import headers

log = structlog.get_logger("twelve.events")
USER_AGENT = "Twelve-Webhooks/1"


class Sender:
    def __init__(
        self, deliveries: Deliveries, secrets: SecretBook, settings: EventsSettings
    ) -> None:
        self._deliveries = deliveries
        self._secrets = secrets
        self._settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self._settings.allow_networks),
            limit=self._settings.concurrency,
            force_close=True,  # receivers are many and seldom called again soon
        )
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, trust_env=False
        )
        self._task = asyncio.create_task(self._run(), name="twelve-webhook-sender")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            try:
                await self.send_due()
            except Exception:
                log.exception("webhook sender: a round failed; trying again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.poll_seconds)

    async def send_due(self) -> int:
        """Claim and send every due delivery (in rounds of `concurrency`); how many were sent."""
        sent = 0
        lease_ms = int((self._settings.timeout_seconds + 30) * 1000)
        while True:
            now_ms = int(time.time() * 1000)
            batch = await self._deliveries.claim(now_ms, lease_ms, self._settings.concurrency)
            if not batch:
                return sent
            await asyncio.gather(*(self._attempt(due) for due in batch))
            sent += len(batch)

    async def _attempt(self, due: Due) -> None:
        attempts = due.attempts + 1
        status: int | None = None
        try:
            status = await self._post(due)
        except Exception as exc:  # the receiver's failure, whatever it is, is recorded
            error = describe(exc)
        else:
            if 200 <= status < 300:
                await self._deliveries.delivered(due.id, attempts, status, int(time.time()))
                WEBHOOK_ATTEMPTS.labels("delivered").inc()
                return
            error = f"the receiver answered HTTP {status}"
        schedule = self._settings.retry_schedule
        if attempts <= len(schedule):
            next_ms = int((time.time() + schedule[attempts - 1]) * 1000)
            WEBHOOK_ATTEMPTS.labels("failed").inc()
        else:
            next_ms = None
            WEBHOOK_ATTEMPTS.labels("dead").inc()
            log.warning("webhook dead-lettered", webhook_id=due.id, attempts=attempts, error=error)
        await self._deliveries.failed(due.id, attempts, error, status, next_ms)

    async def _post(self, due: Due) -> int:
        assert self._session is not None, "the sender is not started"
        url = check_url(due.url, self._settings.allow_networks)
        keys = await self._secrets.signing_keys(due.customer_id)
        sent_headers = headers(due.id, int(time.time()), due.payload, keys)
        sent_headers["content-type"] = "application/json"
        sent_headers["user-agent"] = USER_AGENT
        if due.traceparent:
            sent_headers["traceparent"] = due.traceparent
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout_seconds)
        async with self._session.post(
            url,
            data=due.payload.encode(),
            headers=sent_headers,
            allow_redirects=False,
            timeout=timeout,
        ) as response:
            # Read a little of the answer (a receiver may stream forever): the status decides.
            await response.content.read(self._settings.max_response_bytes)
            return response.status
