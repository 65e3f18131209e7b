"""Holds and settles on PostgreSQL in one round trip each: a single statement on a pooled
asyncpg connection, in autocommit (one statement is one transaction).

A hold is `UPDATE accounts ... WHERE balance - held >= amount` and the `holds` row inserted from
its RETURNING, in one statement; a settle closes the hold (`WHERE state = 'open'`), moves the
balance, the key's spend and writes both journal lines from the closed hold's RETURNING, in one
statement too. The row locks of the UPDATEs give the same guarantees as the SQLite group commit:
concurrent holds re-check the balance, concurrent settles of one hold find it open once.
A hold against a key's budget needs two conditional writes that must both hold or neither, so it
runs in an explicit transaction (a few round trips, for budgeted keys only).

Its own small asyncpg pool, not SQLAlchemy's: the per-statement work and the pool's pre-ping
cost more than the statements (bench/credits.py measures it).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # ships no type information
from sqlalchemy.engine import URL

from twelve.modules.credits import journal

# Placed: the accounts row was updated and the hold inserted from its RETURNING.
_HOLD = """
WITH a AS (
  UPDATE accounts SET held = held + $3 WHERE id = $2 AND balance - held >= $3 RETURNING id
)
INSERT INTO holds (id, account_id, amount, state, request_id, created_at, expires_at,
                   charged, overrun, at_hold, key_id, key_period)
SELECT $1::varchar, a.id, $3::bigint, 'open', $4::varchar, $5::float8, $6::float8, NULL, false,
       false, $7::varchar, $8::bigint FROM a
RETURNING id
"""
_UPDATE_ACCOUNT = (
    "UPDATE accounts SET held = held + $2 WHERE id = $1 AND balance - held >= $2 RETURNING id"
)
_HOLD_KEY = """
INSERT INTO key_spend (key_id, period_start, spent, held) VALUES ($1, $2, 0, $3)
ON CONFLICT (key_id, period_start) DO UPDATE SET held = key_spend.held + excluded.held
WHERE key_spend.spent + key_spend.held + excluded.held <= $4
RETURNING key_id
"""
_OPEN_HOLD = """
INSERT INTO holds (id, account_id, amount, state, request_id, created_at, expires_at,
                   charged, overrun, at_hold, key_id, key_period)
VALUES ($1, $2, $3, 'open', $4, $5, $6, NULL, false, false, $7, $8)
"""
# $1 hold id, $2 state, $3 cost (NULL: at the hold), $4 transaction id, $5 now, $6 revenue.
# Rows are locked in the order a budgeted hold locks them (the account, then the key's spend),
# or the two would deadlock: PostgreSQL runs the CTEs nobody reads last and in reverse, so each
# step reads the one before it and the final SELECT reads `k` (after `a`).
_CLOSE = """
WITH h AS (
  UPDATE holds SET state = $2, charged = COALESCE($3::bigint, amount),
         overrun = COALESCE($3::bigint, amount) > amount, at_hold = ($3::bigint IS NULL)
  WHERE id = $1 AND state = 'open'
  RETURNING account_id, amount, charged, key_id, key_period
), a AS (
  UPDATE accounts SET held = accounts.held - h.amount, balance = accounts.balance - h.charged
  FROM h WHERE accounts.id = h.account_id
  RETURNING h.account_id, h.amount, h.charged, h.key_id, h.key_period
), k AS (
  UPDATE key_spend SET held = key_spend.held - a.amount, spent = key_spend.spent + a.charged
  FROM a WHERE key_spend.key_id = a.key_id AND key_spend.period_start = a.key_period
  RETURNING 1
), j AS (
  INSERT INTO journal (transaction_id, account_id, kind, amount, reason, hold_id, created_at)
  SELECT $4::varchar, line.account_id, 'charge', line.amount,
         CASE WHEN a.charged > a.amount THEN 'overrun' ELSE 'usage' END, $1, $5::bigint
  FROM a CROSS JOIN LATERAL (VALUES (a.account_id, -a.charged), ($6::varchar, a.charged))
       AS line(account_id, amount)
  WHERE a.charged > 0
)
SELECT a.amount, a.charged, (SELECT count(*) FROM k) FROM a
"""


class _BudgetSpent(Exception):
    """Rolls back a budgeted hold whose key's budget cannot cover it."""


class PostgresHolds:
    def __init__(self, url: URL, schema: str | None) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._settings = {"search_path": schema} if schema else {}
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=1, max_size=20, server_settings=self._settings
                    )
        return self._pool

    async def place(self, row: dict[str, Any]) -> str:
        """ "placed", or "balance" / "budget": what could not cover the hold."""
        pool = await self._connections()
        args = (
            row["id"],
            row["account_id"],
            row["amount"],
            row["request_id"],
            row["created_at"],
            row["expires_at"],
            row["key_id"],
            row["key_period"],
        )
        async with pool.acquire() as conn:
            if row["key_id"] is None:
                return "placed" if await conn.fetchval(_HOLD, *args) else "balance"
            try:
                async with conn.transaction():
                    if not await conn.fetchval(_UPDATE_ACCOUNT, row["account_id"], row["amount"]):
                        return "balance"
                    if row["amount"] > row["budget"] or not await conn.fetchval(
                        _HOLD_KEY, row["key_id"], row["key_period"], row["amount"], row["budget"]
                    ):
                        raise _BudgetSpent
                    await conn.execute(_OPEN_HOLD, *args)
            except _BudgetSpent:
                return "budget"
            return "placed"

    async def close(
        self, hold_id: str, cost: int | None, *, charge: bool
    ) -> tuple[int, int] | None:
        """(held, charged) of the hold just closed; None when it was not open."""
        pool = await self._connections()
        state = "settled" if charge else "voided"
        now = int(time.time())
        async with pool.acquire() as conn:
            closed = await conn.fetchrow(
                _CLOSE, hold_id, state, cost, journal.transaction_id(), now, journal.REVENUE
            )
        return None if closed is None else (closed[0], closed[1])

    async def dispose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
