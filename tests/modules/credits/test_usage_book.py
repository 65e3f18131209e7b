"""Usage rows on SQLite and PostgreSQL: batches that skip request ids already stored, and reports
grouped by day, model, key or customer with their filters."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest
from twelve.modules.credits.api import UsageQuery, UsageRecord
from twelve.modules.credits.usage_book import UsageBook

DAY1 = datetime(2026, 3, 1, 23, 59, tzinfo=UTC).timestamp()
DAY2 = datetime(2026, 3, 2, 0, 1, tzinfo=UTC).timestamp()


def record(request_id: str, **fields: object) -> UsageRecord:
    values: dict[str, object] = {
        "request_id": request_id,
        "customer_id": "cus_a",
        "key_id": "key_1",
        "model": "gpt",
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_micros": 100,
        "at": DAY1,
    }
    return UsageRecord.model_validate(values | fields)


ROWS = [
    record("r1"),
    record("r2", at=DAY2, output_tokens=7, cost_micros=300),
    record("r3", model="claude", key_id="key_2", cost_micros=1000, at=DAY2),
    record("r4", model="free", cost_micros=0, unpriced=True, at=DAY2),
    record("r5", customer_id="cus_b", key_id="key_9", cost_micros=5),
]


async def test_a_batch_sent_twice_is_stored_once(credits_db: Database) -> None:
    book = UsageBook(credits_db)
    assert await book.record_usage(ROWS[:3]) == 3
    assert await book.record_usage(ROWS) == 2  # r1..r3 known: skipped
    assert await book.record_usage([record("r6"), record("r6")]) == 1
    [total] = await book.usage(UsageQuery(group_by="customer", customer_id="cus_a"))
    assert total.requests == 5 and total.cost_micros == 1500


async def test_reports_group_and_filter(credits_db: Database) -> None:
    book = UsageBook(credits_db)
    await book.record_usage(ROWS)
    days = await book.usage(UsageQuery(group_by="day", customer_id="cus_a"))
    assert [(d.group, d.requests, d.output_tokens, d.cost_micros) for d in days] == [
        ("2026-03-01", 1, 5, 100),
        ("2026-03-02", 3, 17, 1300),
    ]
    assert days[1].unpriced_requests == 1 and days[1].cost == pytest.approx(0.0013)
    models = await book.usage(UsageQuery(group_by="model", customer_id="cus_a"))
    assert [(m.group, m.requests) for m in models] == [("claude", 1), ("gpt", 2), ("free", 1)]
    keys = await book.usage(UsageQuery(group_by="key"))
    assert [(k.group, k.cost_micros) for k in keys] == [
        ("key_2", 1000),
        ("key_1", 400),
        ("key_9", 5),
    ]
    window = UsageQuery(group_by="model", since=DAY2, until=DAY2 + 1, key_id="key_1")
    assert [(m.group, m.requests) for m in await book.usage(window)] == [("gpt", 1), ("free", 1)]
    assert await book.usage(UsageQuery(model="nope")) == []


@pytest.mark.parametrize("at", [math.nan, math.inf, -1.0])
async def test_a_time_out_of_range_is_refused_and_nothing_written(
    credits_db: Database, at: float
) -> None:
    book = UsageBook(credits_db)
    with pytest.raises(InvalidRequest):
        await book.record_usage([record("ok"), record("bad", at=at)])
    assert await book.usage(UsageQuery()) == []
