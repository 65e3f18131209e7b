"""Usage rows on SQLite and PostgreSQL: batches that skip request ids already stored, and reports
grouped by day, model, key or customer with their filters."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest
from twelve.modules.credits.api import UsageQuery, UsageRecord
from twelve.modules.credits.usage_book import MAX_RECORDS, UsageBook

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


async def test_a_row_with_unknown_usage_gives_way_to_one_that_knows_it(
    credits_db: Database,
) -> None:
    """A job's attempt cut short by its worker stopping (usage unknown, nothing charged) is run
    again under the same request id: the finished run's row replaces it; never the reverse."""
    book = UsageBook(credits_db)
    cut = record("job_1:1", input_tokens=0, output_tokens=0, cost_micros=0, usage_unknown=True)
    done = record("job_1:1", cost_micros=7)
    assert await book.record_usage([cut]) == 1
    assert await book.record_usage([done]) == 1
    assert await book.record_usage([cut, done]) == 0  # known already: both skipped
    assert await book.record_usage([record("job_2:1", usage_unknown=True), record("job_2:1")]) == 1
    [total] = await book.usage(UsageQuery(group_by="customer", customer_id="cus_a"))
    assert (total.requests, total.input_tokens, total.cost_micros) == (2, 20, 107)


async def test_the_largest_call_is_stored_whole_in_several_batches(credits_db: Database) -> None:
    """10,000 rows go in batches (SQLite binds at most 32,766 parameters a statement); the ids
    already stored are counted out across the batches."""
    book = UsageBook(credits_db)
    first = [record(f"big{n}", cost_micros=1) for n in range(4_000)]
    assert await book.record_usage(first) == 4_000
    everything = first + [record(f"big{n}", cost_micros=1) for n in range(4_000, MAX_RECORDS)]
    assert await book.record_usage(everything) == MAX_RECORDS - 4_000
    [total] = await book.usage(UsageQuery(group_by="customer", customer_id="cus_a"))
    assert total.requests == MAX_RECORDS and total.cost_micros == MAX_RECORDS


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


async def test_units_are_summed_per_group_and_token_rows_count_none(credits_db: Database) -> None:
    book = UsageBook(credits_db)
    await book.record_usage(
        [
            record("img", model="painter", images=2, cost_micros=80_000, input_tokens=0),
            record("tts1", model="voice", characters=18, audio_seconds=0.1, cost_micros=270),
            record("tts2", model="voice", characters=7, audio_seconds=0.2, cost_micros=105),
            record("stt", model="ears", audio_seconds=40.5, cost_micros=4050, at=DAY2),
            record("chat", model="gpt"),
        ]
    )
    models = {m.group: m for m in await book.usage(UsageQuery(group_by="model"))}
    units = {name: (m.images, m.audio_seconds, m.characters) for name, m in models.items()}
    # 0.1 + 0.2 seconds is 0.3, not 0.30000000000000004: sums are rounded to the millisecond.
    assert units == {
        "painter": (2, 0.0, 0),
        "voice": (0, 0.3, 25),
        "ears": (0, 40.5, 0),
        "gpt": (0, 0.0, 0),
    }
    assert models["painter"].cost_micros == 80_000 and models["voice"].cost_micros == 375
    days = await book.usage(UsageQuery(group_by="day"))
    assert [(d.group, d.images, d.audio_seconds, d.characters) for d in days] == [
        ("2026-03-01", 2, 0.3, 25),
        ("2026-03-02", 0, 40.5, 0),
    ]


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -3.0])
async def test_units_that_are_not_counts_are_stored_as_none(
    credits_db: Database, seconds: float
) -> None:
    # The gateway's meter builds rows without validation: a NaN must not poison every sum.
    book = UsageBook(credits_db)
    bad = UsageRecord.model_construct(
        **record("r", images=-1, characters=-5).model_dump() | {"audio_seconds": seconds}
    )
    await book.record_usage([bad, record("ok", images=1, audio_seconds=2.5, characters=3)])
    [total] = await book.usage(UsageQuery(group_by="customer"))
    assert (total.requests, total.images, total.audio_seconds, total.characters) == (2, 1, 2.5, 3)
