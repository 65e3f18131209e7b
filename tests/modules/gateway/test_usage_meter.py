"""The usage meter against the real usage book (SQLite and PostgreSQL): rows appear after a
flush, a failed flush is sent again without duplicates (even when the failure came after the
write), the buffer is bounded, refused requests are not usage, and media units (images, audio
seconds, characters) are counted from the answer's usage."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client import REGISTRY

from twelve.kernel.db import Database
from twelve.kernel.errors import PayloadTooLarge
from twelve.modules.credits.api import UsageBucket, UsageQuery, UsageRecord
from twelve.modules.credits.usage_book import UsageBook
from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.endpoints import ENDPOINTS
from twelve.modules.gateway.exchange import Exchange, Outcome
from twelve.modules.gateway.usage_meter import UsageMeter

CHAT = next(e for e in ENDPOINTS if e.name == "chat_completions")


def ended(
    n: int, outcome: Outcome = "ok", *, dispatched: bool = True, charged: int | None = 7
) -> Exchange:
    async def read(_schema: object) -> dict[str, object]:
        return {}

    exchange = Exchange(CHAT, "tw-x", read)  # type: ignore[arg-type]
    exchange.principal = Principal(key_id=f"key_{n % 2}", customer_id="cus_a", models=None)
    exchange.body = {"model": "gpt"}
    exchange.dispatched = dispatched
    exchange.usage = {"prompt_tokens": 3, "completion_tokens": 4}
    exchange.charged_micros = charged
    exchange.outcome = outcome
    return exchange


class Flaky:
    """The real usage book, failing the first `failures` calls: before the write, or after it
    (the write committed but its answer was lost)."""

    def __init__(self, book: UsageBook, failures: int, *, after_write: bool) -> None:
        self.book, self.failures, self.after_write = book, failures, after_write
        self.calls = 0

    async def record_usage(self, records: list[UsageRecord]) -> int:
        self.calls += 1
        if self.calls > self.failures:
            return await self.book.record_usage(records)
        if self.after_write:
            await self.book.record_usage(records)
        raise ConnectionError("the credits module is not answering")

    async def usage(self, query: UsageQuery) -> list[UsageBucket]:
        return await self.book.usage(query)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        for _ in iter(int, 1):  # until `check` passes (polling the database: no event to wait on)
            if await check():
                return
            await asyncio.sleep(0.02)


async def totals(book: UsageBook) -> tuple[int, int]:
    rows = await book.usage(UsageQuery(group_by="customer"))
    return (rows[0].requests, rows[0].cost_micros) if rows else (0, 0)


async def test_rows_appear_after_a_flush_in_batches(credits_db: Database) -> None:
    book = UsageBook(credits_db)
    meter = UsageMeter(book, flush_seconds=0.05, batch_rows=4)
    for n in range(10):
        meter.record(ended(n))
    meter.record(ended(99, "refused", dispatched=False))  # a 401/402/429: not usage
    assert meter.waiting == 10 and await totals(book) == (0, 0)  # nothing written on the path
    await meter.start()
    try:

        async def stored() -> bool:
            return await totals(book) == (10, 70)

        await eventually(stored)
    finally:
        await meter.stop()
    keys = await book.usage(UsageQuery(group_by="key"))
    assert sorted((k.group, k.requests, k.input_tokens, k.output_tokens) for k in keys) == [
        ("key_0", 5, 15, 20),
        ("key_1", 5, 15, 20),
    ]


@pytest.mark.parametrize("after_write", [False, True])
async def test_a_failed_flush_is_sent_again_without_duplicates(
    credits_db: Database, after_write: bool
) -> None:
    book = UsageBook(credits_db)
    flaky = Flaky(book, failures=2, after_write=after_write)
    meter = UsageMeter(flaky, flush_seconds=0.01, batch_rows=100)
    for n in range(5):
        meter.record(ended(n))
    assert not await meter.flush() and not await meter.flush()  # the same batch, twice
    meter.record(ended(5))  # queued behind the batch being retried
    assert await meter.flush() and await meter.flush()
    assert meter.waiting == 0 and flaky.calls == 4
    assert await totals(book) == (6, 42)


async def test_stop_sends_what_is_left(credits_db: Database) -> None:
    book = UsageBook(credits_db)
    meter = UsageMeter(Flaky(book, failures=1, after_write=False), flush_seconds=60)
    await meter.start()
    for n in range(3):
        meter.record(ended(n, "upstream_error", charged=None))
    await meter.stop()  # one failure, then sent
    assert await totals(book) == (3, 0)


async def test_the_buffer_is_bounded_and_drops_the_oldest(credits_db: Database) -> None:
    book = UsageBook(credits_db)
    meter = UsageMeter(Flaky(book, failures=1, after_write=False), batch_rows=2, max_rows=4)
    before = REGISTRY.get_sample_value("twelve_usage_rows_dropped_total") or 0
    exchanges = [ended(n) for n in range(6)]
    for exchange in exchanges[:3]:
        meter.record(exchange)
    assert not await meter.flush()  # rows 0-1 are being sent; 2 waits
    for exchange in exchanges[3:]:
        meter.record(exchange)  # 4 rows at most: rows 2 and 3, the oldest waiting, are dropped
    assert meter.dropped == 2 and meter.waiting == 4
    assert REGISTRY.get_sample_value("twelve_usage_rows_dropped_total") == before + 2
    while meter.waiting:
        assert await meter.flush()
    assert await totals(book) == (4, 28)


class SmallBodies(Flaky):
    """A remote credits module whose body limit fits two rows: a bigger batch is a 413."""

    async def record_usage(self, records: list[UsageRecord]) -> int:
        self.calls += 1
        if len(records) > 2:
            raise PayloadTooLarge("The request body is too large.")
        return await self.book.record_usage(records)


async def test_a_batch_too_large_for_the_credits_module_is_sent_in_halves(
    credits_db: Database,
) -> None:
    book = UsageBook(credits_db)
    meter = UsageMeter(SmallBodies(book, failures=0, after_write=False), batch_rows=8)
    for n in range(8):
        meter.record(ended(n))
    for _ in range(20):
        if not meter.waiting:
            break
        await meter.flush()
    assert meter.waiting == 0 and await totals(book) == (8, 56)


async def test_units_are_read_from_the_answers_usage(credits_db: Database) -> None:
    """What the unit cost reads (`images`, `seconds`, `characters`) is what the row counts; a
    malformed count is none."""
    book = UsageBook(credits_db)
    meter = UsageMeter(book)
    usages: list[dict[str, object]] = [
        {"images": 2},
        {"characters": 18, "seconds": 4.25},
        {"type": "duration", "seconds": 40},
        {"images": "3", "seconds": -1, "characters": True, "prompt_tokens": 5},
    ]
    for n, usage in enumerate(usages):
        exchange = ended(n)
        exchange.usage = usage
        meter.record(exchange)
    meter.record(ended(9))  # chat: tokens only
    assert await meter.flush()
    [total] = await book.usage(UsageQuery(group_by="customer"))
    assert (total.requests, total.input_tokens) == (5, 8)
    assert (total.images, total.audio_seconds, total.characters) == (2, 44.25, 18)
