from __future__ import annotations

import asyncio
import hashlib

import pytest
from sqlalchemy import select

from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.modules.credits.api import CreateCustomer, Customer
from twelve.modules.gateway.adapters.tables import api_keys
from twelve.modules.gateway.api import CreateApiKey
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

    assert issued.key.startswith("tw-") and len(issued.key) == 3 + 43  # 256 bits, base64url
    assert issued.prefix == issued.key[:10]
    async with gateway_db.read() as conn:
        row = (await conn.execute(select(api_keys))).one()._mapping
    assert row["key_hash"] == hashlib.sha256(issued.key.encode()).hexdigest()
    assert issued.key not in {str(v) for v in row.values()}
    listed = await keys.list_keys()
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
    assert await keys.list_keys() == []


async def test_revoking_an_unknown_key_is_not_found(gateway_db: Database) -> None:
    keys = KeyRegistry(gateway_db, FakeCustomers())
    with pytest.raises(NotFound):
        await keys.revoke_key("key_missing")
