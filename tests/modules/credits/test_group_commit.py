"""The SQLite group commit: operations run on the sqlite3 driver itself, many in one
transaction, and an operation that fails is undone alone while the rest of its batch commits."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from twelve.modules.credits.group_commit import GroupCommit


def _insert(value: int, conn: sqlite3.Connection) -> int:
    conn.execute("INSERT INTO t (v) VALUES (:v)", {"v": value})
    if value < 0:  # written, then failing: this insert must be undone
        raise ValueError("negative")
    return value


def _rows(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [v for (v,) in conn.execute("SELECT v FROM t ORDER BY v")]


async def test_a_failing_operation_is_undone_alone(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (v INTEGER NOT NULL)")
    group = GroupCommit(make_url(f"sqlite+aiosqlite:///{path}"))
    try:
        # Queued in one go, so they share a batch: the batch fails and is re-run one by one.
        outcomes = await asyncio.gather(
            *(group.run(lambda c, v=v: _insert(v, c)) for v in (1, 2, -3, 4)),
            return_exceptions=True,
        )
    finally:
        await group.close()
    assert outcomes[:2] == [1, 2] and outcomes[3] == 4
    assert isinstance(outcomes[2], ValueError)
    assert _rows(path) == [1, 2, 4]


async def test_a_batch_is_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (v INTEGER NOT NULL)")
    group = GroupCommit(make_url(f"sqlite+aiosqlite:///{path}"))
    seen: list[bool] = []

    def op(v: int, c: sqlite3.Connection) -> int:
        seen.append(c.in_transaction)
        return _insert(v, c)

    try:
        await asyncio.gather(*(group.run(lambda c, v=v: op(v, c)) for v in range(10)))
    finally:
        await group.close()
    assert seen == [True] * 10
    assert _rows(path) == list(range(10))
