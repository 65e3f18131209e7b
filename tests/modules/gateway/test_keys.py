from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.modules.credits.api import CreateCustomer, Customer
from twelve.modules.gateway.adapters.tables import api_keys
from twelve.modules.gateway.api import CreateApiKey
from twelve.modules.gateway.key_format import KeyShape, shape
from twelve.modules.gateway.keys import KeyRegistry


class FakeCustomers:
    """The credits port, in memory."""

    def __init__(self, *names: str) -> None:
        self.by_id = {f"cus_{n}": Customer(id=f"cus_{n}", name=n, created_at=0) for n in names}

    async def create_customer(self, command: CreateCustomer) -> Customer:
        raise NotImplementedError

    async def get_customer(self, customer_id: str) -> Customer | None:
        return self.by_id.get(customer_id)

    async def find_customer(self, name: str) -> Customer | None:
        return next((c for c in self.by_id.values() if c.name == name), None)

    async def list_customers(self) -> list[Customer]:
        return list(self.by_id.values())


async def test_a_key_is_stored_only_as_its_hash(gateway_db: Database) -> None:
    keys = KeyRegistry(gateway_db, FakeCustomers("acme"))
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme", name="ci"))

    assert issued.key.startswith("tw-") and len(issued.key) == 3 + 43 + 6  # 256 bits + CRC32
    assert shape(issued.key) is KeyShape.CHECKSUMMED
    assert issued.prefix == issued.key[:10]
    async with gateway_db.read() as conn:
        row = (await conn.execute(select(api_keys))).one()._mapping
    assert row["key_hash"] == hashlib.sha256(issued.key.encode()).hexdigest()
    assert issued.key not in {str(v) for v in row.values()}
    listed = (await keys.list_keys()).data
    assert [k.id for k in listed] == [issued.id]
    assert "key" not in listed[0].model_dump()


async def test_authenticate_and_revoke_at_once(gateway_db: Database) -> None:
    keys = KeyRegistry(gateway_db, FakeCustomers("acme"), cache_seconds=30)
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme"))

    principal = await keys.authenticate(issued.key)
    assert principal is not None
    assert (principal.key_id, principal.customer_id, principal.models) == (
        issued.id,
        "cus_acme",
        None,
    )
    assert await keys.authenticate(issued.key + "x") is None
    assert await keys.authenticate("sk-not-ours") is None

    revoked = await keys.revoke_key(issued.id)
    assert revoked.revoked_at is not None
    assert await keys.authenticate(issued.key) is None  # this process: at once, despite the cache


async def test_revocation_reaches_other_processes_within_the_cache_ttl(
    gateway_db: Database,
) -> None:
    here = KeyRegistry(gateway_db, FakeCustomers("acme"), cache_seconds=0.3)
    there = KeyRegistry(gateway_db, FakeCustomers("acme"), cache_seconds=0.3)
    issued = await here.create_key(CreateApiKey(customer_id="cus_acme"))
    assert await there.authenticate(issued.key) is not None

    await here.revoke_key(issued.id)
    await asyncio.sleep(0.35)
    assert await there.authenticate(issued.key) is None


async def test_model_allow_list(gateway_db: Database) -> None:
    keys = KeyRegistry(gateway_db, FakeCustomers("acme"))
    issued = await keys.create_key(
        CreateApiKey(customer_id="cus_acme", models=["fast-chat", "embed", "fast-chat"])
    )
    assert issued.models == ["embed", "fast-chat"]
    principal = await keys.authenticate(issued.key)
    assert principal is not None
    assert principal.may_use("fast-chat") and not principal.may_use("gpt-4o")


async def test_refuses_unknown_customers_and_empty_allow_lists(gateway_db: Database) -> None:
    keys = KeyRegistry(gateway_db, FakeCustomers("acme"))
    with pytest.raises(NotFound) as missing:
        await keys.create_key(CreateApiKey(customer_id="cus_nobody"))
    assert missing.value.param == "customer_id"
    with pytest.raises(InvalidRequest) as empty:
        await keys.create_key(CreateApiKey(customer_id="cus_acme", models=[]))
    assert empty.value.param == "models"
    assert (await keys.list_keys()).data == []


async def test_revoking_an_unknown_key_is_not_found(gateway_db: Database) -> None:
    keys = KeyRegistry(gateway_db, FakeCustomers())
    with pytest.raises(NotFound):
        await keys.revoke_key("key_missing")


@pytest.fixture
def statements(gateway_db: Database) -> Iterator[list[str]]:
    """Every SQL statement the gateway's database runs while the test does."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(gateway_db.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(gateway_db.engine.sync_engine, "before_cursor_execute", record)


async def test_an_invented_key_costs_no_lookup_and_no_cache_entry(
    gateway_db: Database, statements: list[str]
) -> None:
    keys = KeyRegistry(gateway_db, FakeCustomers("acme"), cache_seconds=30)
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme"))
    await keys.authenticate(issued.key)
    await keys.authenticate("tw-" + secrets.token_urlsafe(32))  # reads the legacy-key set, once
    statements.clear()

    flipped = issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B")  # checksum now wrong
    invented = [flipped, "tw-" + "x" * 49, "tw-" + secrets.token_urlsafe(32), "tw-\x00", "sk-1"]
    for key in invented:
        assert await keys.authenticate(key) is None
    assert statements == []
    assert len(keys._cache._entries) == 1  # only the real key's


async def test_keys_issued_before_the_checksum_keep_working(
    gateway_db: Database, statements: list[str]
) -> None:
    legacy = "tw-" + secrets.token_urlsafe(32)
    row = {
        "id": "key_legacy",
        "customer_id": "cus_acme",
        "name": "old",
        "key_hash": hashlib.sha256(legacy.encode()).hexdigest(),
        "prefix": legacy[:10],
        "models": None,
        "created_at": 0,
    }
    async with gateway_db.write() as conn:  # as written before the format column existed
        await conn.execute(insert(api_keys).values(**row))
    keys = KeyRegistry(gateway_db, FakeCustomers("acme"), cache_seconds=30)

    principal = await keys.authenticate(legacy)
    assert principal is not None and principal.key_id == "key_legacy"
    statements.clear()
    assert await keys.authenticate("tw-" + secrets.token_urlsafe(32)) is None  # legacy-shaped
    assert statements == []

    await keys.revoke_key("key_legacy")
    assert await keys.authenticate(legacy) is None
