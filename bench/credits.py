"""Holds + settles per second on the credits ledger, on SQLite and PostgreSQL.

    python -m bench.credits [--seconds 5] [--concurrency 16] [--customers 16] [--budget]
                            [--database postgresql://user@host:5432/postgres]

Each worker loops: hold a request's worst case on one of the customers, then settle it at a
smaller actual cost, through the real `CreditsService` on a fresh database (a SQLite file in a
temporary directory; a throw-away PostgreSQL database on the server at `--database`, default
TWELVE_BENCH_DATABASE_URL or the local server, when it answers). One hold + its settle count as
one. `--budget`: every hold is made for a key with a (large) daily budget, so it also writes the
key's spend. At the end it checks what it measured: no hold left open, every balance = opening -
charges, and the journal sums to zero. A benchmark, not a test: it prints the figures and exits 0
(1 only when the ledger does not add up).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

from twelve.kernel.db import Database
from twelve.kernel.migrations import upgrade
from twelve.kernel.quotas import Budget
from twelve.modules.credits.adapters.tables import holds, journal
from twelve.modules.credits.api import CreateCustomer, PlaceHold
from twelve.modules.credits.service import MIGRATIONS, CreditsService

DEFAULT_PG = os.environ.get(
    "TWELVE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Large enough never to refuse in a benchmark's few seconds: the budget's write is what counts.
BUDGET = Budget(amount=Decimal(1_000_000), period="day")


async def run(
    db: Database, seconds: float, concurrency: int, customers: int, budget: bool = False
) -> float:
    await upgrade(db, MIGRATIONS)
    credits = CreditsService(db)
    ids = [
        (await credits.create_customer(CreateCustomer(name=f"c{i}", credits=Decimal(1000)))).id
        for i in range(customers)
    ]
    done = 0
    deadline = time.monotonic() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        customer = ids[n % len(ids)]
        place = PlaceHold(
            customer_id=customer,
            amount_micros=1000,
            key_id=f"key_{n}" if budget else "",
            budget=BUDGET if budget else None,
        )
        while time.monotonic() < deadline:
            hold = await credits.hold(place)
            await credits.settle(hold.id, 400)
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    rate = done / (time.monotonic() - started)
    try:
        await check(db, credits, ids, done)
    finally:
        await credits.close()
    return rate


async def check(db: Database, credits: CreditsService, ids: list[str], done: int) -> None:
    async with db.read() as conn:
        total = (await conn.execute(select(func.sum(journal.c.amount)))).scalar_one()
        still_open = (
            await conn.execute(select(func.count()).where(holds.c.state == "open"))
        ).scalar_one()
    balances = 0
    for customer in ids:
        account = await credits.account(customer)
        assert account is not None
        balances += account.balance_micros
    expected = len(ids) * 1000 * 1_000_000 - done * 400
    if total != 0 or still_open or balances != expected:
        print(f"ledger does not add up: sum={total} open={still_open} balances={balances}")
        sys.exit(1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--customers", type=int, default=16)
    parser.add_argument(
        "--database",
        "--pg",
        dest="pg",
        default=DEFAULT_PG,
        help="a PostgreSQL URL whose user may create databases (default: "
        "TWELVE_BENCH_DATABASE_URL, else the local server); '' to skip PostgreSQL",
    )
    parser.add_argument("--budget", action="store_true", help="hold against key budgets too")
    args = parser.parse_args()
    shape = f"{args.concurrency} workers, {args.customers} customers, {args.seconds:g} s"
    if args.budget:
        shape += ", key budgets"
    with tempfile.TemporaryDirectory() as tmp:
        db = Database("credits", f"sqlite:///{Path(tmp) / 'credits.db'}")
        try:
            rate = await run(db, args.seconds, args.concurrency, args.customers, args.budget)
        finally:
            await db.dispose()
    print(f"sqlite:     {rate:8.0f} holds+settles/s  ({shape})")
    if args.pg:
        await run_postgres(args, shape)


async def run_postgres(args: argparse.Namespace, shape: str) -> None:
    name = f"twelve_bench_{secrets.token_hex(4)}"
    try:
        admin = await asyncpg.connect(args.pg)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"postgresql: skipped ({type(exc).__name__}: {exc})")
        return
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        db = Database("credits", args.pg.rsplit("/", 1)[0] + f"/{name}", schema="credits")
        try:
            await db.create_schema()
            rate = await run(db, args.seconds, args.concurrency, args.customers, args.budget)
        finally:
            await db.dispose()
        print(f"postgresql: {rate:8.0f} holds+settles/s  ({shape})")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
