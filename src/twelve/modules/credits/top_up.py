"""Adding credits, once per `Idempotency-Key` (Stripe's semantics).

The key is written in the same unit of work as the credit itself, under a primary key: of two
concurrent top-ups with one key, exactly one commits; the other fails on the key, rolls back
(nothing written), and answers with what the first stored. The key remembers a fingerprint of
the command, so reusing it for another amount or reason is refused instead of silently ignored.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.kernel.unit_of_work import UnitOfWork
from twelve.modules.credits import journal
from twelve.modules.credits.adapters.tables import accounts, idempotency_keys
from twelve.modules.credits.api import AddCredits, CreditGrant
from twelve.modules.credits.money import micros_to_usd, usd_to_micros

MAX_KEY_LENGTH = 255


async def add_credits(
    db: Database, customer_id: str, command: AddCredits, idempotency_key: str | None
) -> CreditGrant:
    fingerprint = hashlib.sha256(command.model_dump_json().encode()).hexdigest()
    if idempotency_key is not None:
        _check_key(idempotency_key)
        first = await _remembered(db, customer_id, idempotency_key, fingerprint)
        if first is not None:
            return first
    try:
        return await _credit(db, customer_id, command, idempotency_key, fingerprint)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A concurrent top-up with the same key committed first.
        first = await _remembered(db, customer_id, idempotency_key, fingerprint)
        if first is None:
            raise
        return first


async def _credit(
    db: Database,
    customer_id: str,
    command: AddCredits,
    idempotency_key: str | None,
    fingerprint: str,
) -> CreditGrant:
    micros = usd_to_micros(command.amount)
    txn = journal.transaction_id()
    async with UnitOfWork(db) as uow:
        conn = uow.connection
        if idempotency_key is not None:
            # First, so that a concurrent duplicate waits here and then fails before writing.
            await conn.execute(
                insert(idempotency_keys).values(
                    account_id=customer_id,
                    key=idempotency_key,
                    fingerprint=fingerprint,
                    transaction_id=txn,
                    response="",
                    created_at=int(time.time()),
                )
            )
        balance = (
            await conn.execute(
                update(accounts)
                .where(accounts.c.id == customer_id)
                .values(balance=accounts.c.balance + micros)
                .returning(accounts.c.balance)
            )
        ).scalar()
        if balance is None:
            raise NotFound(f"No such customer: {customer_id!r}.", param="customer")
        await journal.fund(conn, customer_id, micros, command.reason or "top-up", txn=txn)
        grant = CreditGrant(
            transaction_id=txn,
            customer_id=customer_id,
            amount=micros_to_usd(micros),
            amount_micros=micros,
            reason=command.reason,
            balance_micros=balance,
            created_at=int(time.time()),
        )
        if idempotency_key is not None:
            await conn.execute(
                update(idempotency_keys)
                .where(
                    idempotency_keys.c.account_id == customer_id,
                    idempotency_keys.c.key == idempotency_key,
                )
                .values(response=grant.model_dump_json())
            )
    return grant


async def _remembered(
    db: Database, customer_id: str, key: str, fingerprint: str
) -> CreditGrant | None:
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(
                    idempotency_keys.c.account_id == customer_id, idempotency_keys.c.key == key
                )
            )
        ).first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise InvalidRequest(
            "This Idempotency-Key was already used with other parameters; use a new key for "
            "a different top-up.",
            param="Idempotency-Key",
            code="idempotency_key_reused",
        )
    return CreditGrant.model_validate_json(row.response)


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            param="Idempotency-Key",
        )
