"""One page of a customer's rows, newest first, for the jobs and workflow-run tables (both keyed
by `id`, owned by `customer_id`, ordered by `created_at`): `after` is the last id of the page
before; a cursor that is not the customer's gives an empty page. Further columns a page is
filtered on (a run's `name`) are named by keyword, so each table passes only what it has."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, or_, select

from twelve.kernel.db import Database


async def newest_first(
    db: Database,
    table: Table,
    customer_id: str | None,
    status: str | None,
    limit: int,
    after: str | None,
    **equal: str | None,
) -> tuple[list[Any], bool]:
    """(the page's rows, whether more follow); `equal`: column -> value, None for any."""
    c = table.c
    query = select(table).order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)
    for column, value in {"customer_id": customer_id, "status": status, **equal}.items():
        if value is not None:
            query = query.where(c[column] == value)
    async with db.read() as conn:
        if after is not None:
            cursor = (await conn.execute(select(table).where(c.id == after))).first()
            if cursor is None or (customer_id is not None and cursor.customer_id != customer_id):
                return [], False
            query = query.where(
                or_(
                    c.created_at < cursor.created_at,
                    and_(c.created_at == cursor.created_at, c.id < cursor.id),
                )
            )
        rows = (await conn.execute(query)).all()
    return list(rows[:limit]), len(rows) > limit
