"""The append-only journal: each transaction is lines that sum to zero, written in the caller's
unit of work. Money comes into a customer's account from `sys:funding` and leaves it to
`sys:revenue`, so the sum of every line ever written is zero."""

from __future__ import annotations

import secrets
import time
from functools import partial

from sqlalchemy import Connection, select, text
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from twelve.modules.credits.adapters.tables import journal
from twelve.modules.credits.api import LedgerEntry
from twelve.modules.credits.money import micros_to_usd

# Plain SQL, named parameters: run through SQLAlchemy (`post`) or straight on the SQLite driver
# by the group commit (`lines`, on every settle, see hold_book.py).
INSERT_SQL = (
    "INSERT INTO journal (transaction_id, account_id, kind, amount, reason, hold_id, created_at)"
    " VALUES (:transaction_id, :account_id, :kind, :amount, :reason, :hold_id, :created_at)"
)
_INSERT = text(INSERT_SQL)
FUNDING = "sys:funding"
REVENUE = "sys:revenue"


def transaction_id() -> str:
    return f"txn_{secrets.token_hex(12)}"


def lines(
    *,
    kind: str,
    debit: str,
    credit: str,
    micros: int,
    reason: str,
    hold_id: str | None = None,
    txn: str | None = None,
) -> list[dict[str, object]]:
    """The two rows that move `micros` from account `debit` to account `credit`: they sum to
    zero. Insert them with `INSERT_SQL` in one transaction with the balance change."""
    line = {
        "transaction_id": txn or transaction_id(),
        "kind": kind,
        "reason": reason,
        "hold_id": hold_id,
        "created_at": int(time.time()),
    }
    return [
        {**line, "account_id": debit, "amount": -micros},
        {**line, "account_id": credit, "amount": micros},
    ]


def post(rows: list[dict[str, object]], conn: Connection) -> str:
    """Insert `lines(...)` in the caller's unit of work; their transaction id. Synchronous
    (`await conn.run_sync(partial(post, lines(...)))` from an async connection)."""
    conn.execute(_INSERT, rows)
    return str(rows[0]["transaction_id"])


async def fund(
    conn: AsyncConnection, account_id: str, micros: int, reason: str, txn: str | None = None
) -> str:
    """Post a credit of `micros` from the funding account to `account_id` (a top-up or an
    opening balance), in the caller's transaction; the transaction id."""
    rows = lines(
        kind="credit", debit=FUNDING, credit=account_id, micros=micros, reason=reason, txn=txn
    )
    posted: str = await conn.run_sync(partial(post, rows))
    return posted


async def entries(conn: AsyncConnection, account_id: str, limit: int) -> list[LedgerEntry]:
    rows = (
        await conn.execute(
            select(journal)
            .where(journal.c.account_id == account_id)
            .order_by(journal.c.id.desc())
            .limit(limit)
        )
    ).all()
    return [_entry(r._mapping) for r in rows]


def _entry(row: RowMapping) -> LedgerEntry:
    return LedgerEntry(
        id=row["id"],
        transaction_id=row["transaction_id"],
        account_id=row["account_id"],
        kind=row["kind"],
        amount_micros=row["amount"],
        amount=micros_to_usd(row["amount"]),
        reason=row["reason"],
        hold_id=row["hold_id"],
        created_at=row["created_at"],
    )
