"""Issuing and revoking a key are each one unit of work: the key row and the event announcing it
commit together or not at all, and a revocation is seen by authentication only once it is durable.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.modules.gateway.test_keys import FakeCustomers
from twelve.kernel.db import Database
from twelve.modules.gateway.adapters.tables import api_keys
from twelve.modules.gateway.api import CreateApiKey
from twelve.modules.gateway.keys import KeyRegistry


class Outbox:
    """An outbox hook that sees the transaction's own rows, and can be told to fail."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = False

    async def __call__(self, conn: AsyncConnection, events: list[Any]) -> None:
        # Inside the same transaction: the key row written by the command is already visible.
        rows = (await conn.execute(select(api_keys.c.id, api_keys.c.revoked_at))).all()
        assert {e["key"]["id"] for e in events} <= {r.id for r in rows}
        if self.fail:
            raise RuntimeError("outbox write failed")
        self.events.extend(events)


async def test_the_key_and_its_event_commit_together(gateway_db: Database) -> None:
    outbox = Outbox()
    keys = KeyRegistry(gateway_db, FakeCustomers("acme"), outbox=outbox)
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme"))
    revoked = await keys.revoke_key(issued.id)

    assert [e["type"] for e in outbox.events] == ["api_key.created", "api_key.revoked"]
    assert outbox.events[1]["key"]["revoked_at"] == revoked.revoked_at
    assert "key" not in outbox.events[0]["key"]  # the secret never travels in an event


async def test_a_failed_event_write_leaves_no_key(gateway_db: Database) -> None:
    outbox = Outbox()
    outbox.fail = True
    keys = KeyRegistry(gateway_db, FakeCustomers("acme"), outbox=outbox)
    with pytest.raises(RuntimeError, match="outbox write failed"):
        await keys.create_key(CreateApiKey(customer_id="cus_acme"))
    assert (await keys.list_keys()).data == []


async def test_a_revocation_that_does_not_commit_leaves_the_key_working(
    gateway_db: Database,
) -> None:
    outbox = Outbox()
    keys = KeyRegistry(gateway_db, FakeCustomers("acme"), cache_seconds=30, outbox=outbox)
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme"))
    assert await keys.authenticate(issued.key) is not None  # cached now

    outbox.fail = True
    with pytest.raises(RuntimeError):
        await keys.revoke_key(issued.id)
    [row] = (await keys.list_keys()).data
    assert row.revoked_at is None
    assert await keys.authenticate(issued.key) is not None
