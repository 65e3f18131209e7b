"""Usage rows: one per finished request that reached an upstream, written in batches by the
gateway's usage meter, and summed per day, model, key or customer for reports.

A batch is one multi-row INSERT that skips request ids already stored (`ON CONFLICT DO NOTHING`,
on SQLite and PostgreSQL alike), so a batch the gateway sends again after a failure it could not
tell from a success writes nothing twice. Reports are one grouped query over the indexed
(customer, at) or (key, at) ranges, bounded to `MAX_GROUPS` groups.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Case, ColumnElement, case, func, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest
from twelve.kernel.unit_of_work import UnitOfWork
from twelve.modules.credits.adapters.tables import usage
from twelve.modules.credits.api import UsageBucket, UsageQuery, UsageRecord
from twelve.modules.credits.money import micros_to_usd

# The most rows one call may store (the gateway sends far fewer). SQLAlchemy sends them in
# batches of 1,000 rows (20 columns each: under SQLite's 32,766 bound parameters).
MAX_RECORDS = 10_000
# The most groups a report returns: the latest days, or the dearest models, keys or customers.
MAX_GROUPS = 1000


class UsageBook:
    def __init__(self, db: Database) -> None:
        self._db = db
        insert = sqlite_insert if db.is_sqlite else postgres_insert
        # One statement, compiled once and cached: the rows go as parameters, which SQLAlchemy
        # sends in multi-row batches ("insertmanyvalues"). A `.values(rows)` statement was
        # compiled afresh for every batch, a fifth of the server's CPU under load.
        statement = insert(usage)
        new = statement.excluded
        # A request id already stored is skipped (a batch sent again), except that a row whose
        # usage was unknown gives way to one that knows it: a job's attempt cut short by its
        # worker stopping is run again under the same id, and the run that finished is the one
        # the job was charged for.
        self._insert = statement.on_conflict_do_update(
            index_elements=[usage.c.request_id],
            set_={c.name: new[c.name] for c in usage.c if c.name != "request_id"},
            where=usage.c.usage_unknown & ~new.usage_unknown,
        ).returning(usage.c.request_id)

    async def record_usage(self, records: list[UsageRecord]) -> int:
        if len(records) > MAX_RECORDS:
            raise InvalidRequest(
                f"At most {MAX_RECORDS} usage records per call; send them in batches.",
                param="records",
            )
        rows = _unique([_row(r) for r in records])
        if not rows:
            return 0
        async with UnitOfWork(self._db) as uow:
            return len((await uow.connection.execute(self._insert, rows)).all())

    async def usage(self, query: UsageQuery) -> list[UsageBucket]:
        group = _GROUPS[query.group_by]
        cost = func.sum(usage.c.cost_micros)
        statement = (
            select(
                group.label("grp"),
                func.count().label("requests"),
                func.sum(usage.c.input_tokens),
                func.sum(usage.c.output_tokens),
                cost,
                func.sum(_ONE_IF_UNPRICED),
                func.sum(usage.c.images),
                func.sum(usage.c.audio_seconds),
                func.sum(usage.c.characters),
            )
            .where(*_filters(query))
            .group_by(group)
            .limit(MAX_GROUPS)
        )
        # Days: the latest MAX_GROUPS, returned oldest first. Others: the dearest first.
        if query.group_by == "day":
            statement = statement.order_by(group.desc())
        else:
            statement = statement.order_by(cost.desc(), group)
        async with self._db.read() as conn:
            rows = list((await conn.execute(statement)).all())
        if query.group_by == "day":
            rows.reverse()
        return [
            UsageBucket(
                group=str(grp),
                requests=int(requests),
                input_tokens=int(tokens_in or 0),
                output_tokens=int(tokens_out or 0),
                cost=micros_to_usd(int(micros or 0)),
                cost_micros=int(micros or 0),
                unpriced_requests=int(unpriced or 0),
                images=int(images or 0),
                # A sum of floats: rounded to the millisecond, so 0.1 + 0.2 reads 0.3.
                audio_seconds=round(float(seconds or 0), 3),
                characters=int(characters or 0),
            )
            for (
                grp,
                requests,
                tokens_in,
                tokens_out,
                micros,
                unpriced,
                images,
                seconds,
                characters,
            ) in rows
        ]


_GROUPS: dict[str, ColumnElement[Any]] = {
    "day": usage.c.day,
    "model": usage.c.model,
    "key": usage.c.key_id,
    "customer": usage.c.customer_id,
}
_ONE_IF_UNPRICED: Case[int] = case((usage.c.unpriced, 1), else_=0)


def _filters(query: UsageQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.customer_id is not None:
        where.append(usage.c.customer_id == query.customer_id)
    if query.key_id is not None:
        where.append(usage.c.key_id == query.key_id)
    if query.model is not None:
        where.append(usage.c.model == query.model)
    if query.since is not None:
        where.append(usage.c.at >= query.since)
    if query.until is not None:
        where.append(usage.c.at < query.until)
    return where


def day_of(at: float) -> str:
    """The UTC date of unix time `at`, as YYYY-MM-DD."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


# The most units one row counts: an upstream's report is not trusted to keep the sums in a BIGINT.
_MOST_UNITS = 2**40
# Unix seconds before year 10000: what a date can be made of.
_LATEST = 253_402_300_800


def _row(record: UsageRecord) -> dict[str, object]:
    if not 0 <= record.at < _LATEST:  # NaN too
        raise InvalidRequest(f"Usage time out of range: {record.at!r}.", param="at")
    return {
        "request_id": record.request_id[:128],
        "customer_id": record.customer_id[:40],
        "key_id": record.key_id[:40],
        "model": record.model[:200],
        "deployment": record.deployment[:200],
        "endpoint": record.endpoint[:64],
        "outcome": record.outcome[:20],
        "input_tokens": max(record.input_tokens, 0),
        "output_tokens": max(record.output_tokens, 0),
        "cost_micros": max(record.cost_micros, 0),
        "images": min(max(record.images, 0), _MOST_UNITS),
        "audio_seconds": min(record.audio_seconds, _MOST_UNITS) if _counted(record) else 0.0,
        "characters": min(max(record.characters, 0), _MOST_UNITS),
        "unpriced": record.unpriced,
        "usage_unknown": record.usage_unknown,
        "at": record.at,
        "day": day_of(record.at),
    }


def _counted(record: UsageRecord) -> bool:
    """Positive, finite seconds (NaN and infinity would poison every sum they join)."""
    return math.isfinite(record.audio_seconds) and record.audio_seconds > 0


def _unique(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """One row per request id, the first, or the first that knows its usage: a batch that names
    one request twice stores it once."""
    seen: dict[object, dict[str, object]] = {}
    for row in rows:
        first = seen.setdefault(row["request_id"], row)
        if first["usage_unknown"] and not row["usage_unknown"]:
            seen[row["request_id"]] = row
    return list(seen.values())
