"""A key's life after it is issued, on SQLite and PostgreSQL: its limits, budget and expiry reach
the principal (with its customer's limits); PATCH changes only what it sends; rotation keeps the
old secret for its grace and no longer; revocation ends both; lists page in a stable order."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.kernel.test_remote import Loopback
from tests.modules.gateway.test_key_unit_of_work import Outbox
from tests.modules.gateway.test_keys import FakeCustomers
from twelve.kernel.db import Database
from twelve.kernel.errors import AuthenticationFailed, Conflict, InvalidRequest, NotFound
from twelve.kernel.quotas import Budget, Limits
from twelve.kernel.remote import client_for, endpoints_for
from twelve.kernel.telemetry.metrics import REJECTIONS
from twelve.modules.credits.api import Customer
from twelve.modules.gateway.adapters.tables import api_keys
from twelve.modules.gateway.api import (
    ApiKey,
    CreateApiKey,
    IssuedApiKey,
    KeysService,
    RotateApiKey,
    UpdateApiKey,
)
from twelve.modules.gateway.key_format import hash_key
from twelve.modules.gateway.keys import KeyRegistry
from twelve.modules.gateway.stages.authenticate import Authenticate

DAY = Budget(amount=Decimal("2.5"), period="day")


def registry(db: Database, **kwargs: Any) -> KeyRegistry:
    customers = FakeCustomers("acme")
    customers.by_id["cus_acme"] = Customer(
        id="cus_acme", name="acme", created_at=0, limits=Limits(rpm=600, max_concurrency=8)
    )
    return KeyRegistry(db, customers, **kwargs)


async def test_limits_budget_and_expiry_reach_the_principal(gateway_db: Database) -> None:
    keys = registry(gateway_db)
    expires = int(time.time()) + 3600
    issued = await keys.create_key(
        CreateApiKey(customer_id="cus_acme", rpm=60, tpm=1000, budget=DAY, expires_at=expires)
    )
    assert (issued.rpm, issued.tpm, issued.max_concurrency) == (60, 1000, None)
    assert issued.budget == DAY and issued.expires_at == expires
    async with gateway_db.read() as conn:
        row = (await conn.execute(select(api_keys))).one()._mapping
    assert (row["budget_micros"], row["budget_period"]) == (2_500_000, "day")

    principal = await keys.authenticate(issued.key)
    assert principal is not None
    assert principal.limits == Limits(rpm=60, tpm=1000)
    assert principal.customer_limits == Limits(rpm=600, max_concurrency=8)
    assert principal.budget == DAY and principal.expires_at == expires
    assert await keys.get_key(issued.id) == _without_secret(issued)


def _without_secret(issued: IssuedApiKey) -> ApiKey:
    return ApiKey(**issued.model_dump(exclude={"key"}))


@pytest.mark.parametrize(
    ("expires_at", "words"),
    [(1, "not in the future"), (int(time.time() * 1000), "milliseconds")],
)
async def test_an_expiry_in_the_past_or_in_milliseconds_is_refused(
    gateway_db: Database, expires_at: int, words: str
) -> None:
    keys = registry(gateway_db)
    with pytest.raises(InvalidRequest, match=words) as refused:
        await keys.create_key(CreateApiKey(customer_id="cus_acme", expires_at=expires_at))
    assert refused.value.param == "expires_at"
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme"))
    with pytest.raises(InvalidRequest, match=words):
        await keys.update_key(issued.id, UpdateApiKey(expires_at=expires_at))
    assert (await keys.list_keys()).data == [_without_secret(issued)]


async def test_patch_changes_only_what_it_sends_and_null_clears(gateway_db: Database) -> None:
    outbox = Outbox()
    keys = registry(gateway_db, cache_seconds=30, outbox=outbox)
    issued = await keys.create_key(
        CreateApiKey(customer_id="cus_acme", name="ci", models=["a"], rpm=5, budget=DAY)
    )
    assert await keys.authenticate(issued.key) is not None  # cached for 30 s

    changed = await keys.update_key(
        issued.id, UpdateApiKey.model_validate({"models": ["b", "c", "b"], "rpm": None, "tpm": 7})
    )
    assert changed.models == ["b", "c"] and changed.rpm is None and changed.tpm == 7
    assert changed.name == "ci" and changed.budget == DAY  # not sent: kept
    principal = await keys.authenticate(issued.key)  # this process: at once, despite the cache
    assert principal is not None
    assert principal.models == frozenset({"b", "c"}) and principal.limits == Limits(tpm=7)

    cleared = await keys.update_key(issued.id, UpdateApiKey.model_validate({"budget": None}))
    assert cleared.budget is None
    everything = await keys.update_key(issued.id, UpdateApiKey.model_validate({"models": None}))
    assert everything.models is None
    assert [e["type"] for e in outbox.events] == ["api_key.created"] + ["api_key.updated"] * 3
    assert outbox.events[1]["key"]["tpm"] == 7

    unchanged = await keys.update_key(issued.id, UpdateApiKey())
    assert unchanged == everything and len(outbox.events) == 4  # nothing sent, nothing written


@pytest.mark.parametrize(("body", "param"), [({"models": []}, "models"), ({"name": None}, "name")])
async def test_patch_refuses_what_create_refuses(
    gateway_db: Database, body: dict[str, Any], param: str
) -> None:
    keys = registry(gateway_db)
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme", name="ci"))
    with pytest.raises(InvalidRequest) as refused:
        await keys.update_key(issued.id, UpdateApiKey.model_validate(body))
    assert refused.value.param == param
    assert await keys.get_key(issued.id) == _without_secret(issued)


async def test_patching_or_rotating_an_unknown_key_is_not_found(gateway_db: Database) -> None:
    keys = registry(gateway_db)
    with pytest.raises(NotFound):
        await keys.update_key("key_nope", UpdateApiKey(rpm=1))
    with pytest.raises(NotFound):
        await keys.rotate_key("key_nope", RotateApiKey())
    assert await keys.get_key("key_nope") is None
    assert await keys.get_key("key_\x00") is None


async def test_rotation_keeps_the_old_secret_for_its_grace(gateway_db: Database) -> None:
    outbox = Outbox()
    keys = registry(gateway_db, cache_seconds=30, outbox=outbox)
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme", rpm=9))
    assert await keys.authenticate(issued.key) is not None

    rotated = await keys.rotate_key(issued.id, RotateApiKey(grace_seconds=1))
    assert rotated.id == issued.id and rotated.key != issued.key and rotated.rpm == 9
    assert rotated.prefix == rotated.key[:10] and rotated.rotated_at is not None
    assert rotated.previous_expires_at == rotated.rotated_at + 1
    old, new = await keys.authenticate(issued.key), await keys.authenticate(rotated.key)
    assert old is not None and new is not None and old.key_id == new.key_id == issued.id
    assert [e["type"] for e in outbox.events] == ["api_key.created", "api_key.rotated"]
    assert "key" not in outbox.events[1]["key"]

    # Another process, which never saw the old secret, finds it too, until the grace ends.
    there = registry(gateway_db, cache_seconds=30)
    assert await there.authenticate(issued.key) is not None
    await asyncio.sleep(max(0.0, rotated.previous_expires_at - time.time()) + 0.05)
    assert await keys.authenticate(issued.key) is None  # cached, yet refused: grace is over
    assert await there.authenticate(issued.key) is None
    assert await keys.authenticate(rotated.key) is not None
    assert await registry(gateway_db).authenticate(issued.key) is None  # a fresh lookup too


async def test_a_grace_of_zero_ends_the_old_secret_at_once(gateway_db: Database) -> None:
    keys = registry(gateway_db, cache_seconds=30)
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme"))
    assert await keys.authenticate(issued.key) is not None
    rotated = await keys.rotate_key(issued.id, RotateApiKey(grace_seconds=0))
    assert rotated.previous_expires_at is None
    assert await keys.authenticate(issued.key) is None
    assert await keys.authenticate(rotated.key) is not None


async def test_revocation_ends_both_secrets_and_a_second_rotation_the_first_grace(
    gateway_db: Database,
) -> None:
    keys = registry(gateway_db, cache_seconds=30)
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme"))
    first = await keys.rotate_key(issued.id, RotateApiKey(grace_seconds=600))
    assert await keys.authenticate(issued.key) is not None
    second = await keys.rotate_key(issued.id, RotateApiKey(grace_seconds=600))
    assert await keys.authenticate(issued.key) is None  # the first rotation's grace is over
    assert await keys.authenticate(first.key) is not None
    assert await keys.authenticate(second.key) is not None

    await keys.revoke_key(issued.id)
    assert await keys.authenticate(first.key) is None
    assert await keys.authenticate(second.key) is None
    with pytest.raises(NotFound, match="revoked"):
        await keys.rotate_key(issued.id, RotateApiKey())


async def test_a_rotated_legacy_key_keeps_its_grace_in_a_new_process(
    gateway_db: Database,
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
    async with gateway_db.write() as conn:
        await conn.execute(insert(api_keys).values(**row))
    rotated = await registry(gateway_db).rotate_key("key_legacy", RotateApiKey())
    fresh = registry(gateway_db)  # loads the legacy hashes after the rotation
    assert await fresh.authenticate(legacy) is not None
    assert await fresh.authenticate(rotated.key) is not None


async def test_lists_page_oldest_first(gateway_db: Database) -> None:
    keys = registry(gateway_db)
    made = [await keys.create_key(CreateApiKey(customer_id="cus_acme")) for _ in range(5)]
    expected = sorted((k.created_at, k.id) for k in made)  # same second: the id decides

    first = await keys.list_keys("cus_acme", limit=2)
    assert first.has_more and [(k.created_at, k.id) for k in first.data] == expected[:2]
    second = await keys.list_keys("cus_acme", limit=2, after=first.data[-1].id)
    third = await keys.list_keys("cus_acme", limit=2, after=second.data[-1].id)
    assert [k.id for k in second.data + third.data] == [i for _, i in expected[2:]]
    assert second.has_more and not third.has_more
    assert (await keys.list_keys("cus_other")).data == []
    assert (await keys.list_keys(limit=5)).has_more is False

    for limit in (0, 1001):
        with pytest.raises(InvalidRequest) as bad_limit:
            await keys.list_keys(limit=limit)
        assert bad_limit.value.param == "limit"
    for after in ("key_nope", "key_\x00"):
        with pytest.raises(InvalidRequest) as bad_after:
            await keys.list_keys(after=after)
        assert bad_after.value.param == "after"


async def test_an_expired_key_is_refused_even_from_the_cache(gateway_db: Database) -> None:
    keys = registry(gateway_db, cache_seconds=30)
    stage = Authenticate(keys)
    issued = await keys.create_key(
        CreateApiKey(customer_id="cus_acme", expires_at=int(time.time()) + 3)
    )
    assert (await stage.principal(issued.key)).key_id == issued.id  # cached for 30 s now
    expired = REJECTIONS.labels("expired")
    before = expired._value.get()

    await asyncio.sleep(issued.expires_at - time.time() + 0.05)  # type: ignore[operator]
    with pytest.raises(AuthenticationFailed) as refused:
        await stage.principal(issued.key)
    assert (refused.value.status, refused.value.code) == (401, "expired_api_key")
    assert refused.value.type == "authentication_error" and "expired at" in refused.value.message
    assert expired._value.get() == before + 1

    later = int(time.time()) + 3600
    await keys.update_key(issued.id, UpdateApiKey(expires_at=later))  # moved: works again
    assert (await stage.principal(issued.key)).expires_at == later
    with pytest.raises(AuthenticationFailed) as wrong:
        await stage.principal(issued.key[:-1] + ("0" if issued.key[-1] != "0" else "1"))
    assert wrong.value.code == "invalid_api_key"


async def test_patch_means_the_same_across_a_process_boundary(gateway_db: Database) -> None:
    """Through the generated client and internal routes, only the fields sent travel: a PATCH of
    one field does not clear (or refuse, for `name`) the others."""
    keys = registry(gateway_db)
    remote: KeysService = client_for(KeysService, Loopback(endpoints_for(KeysService, keys)))
    issued = await remote.create_key(
        CreateApiKey(customer_id="cus_acme", name="ci", models=["a"], rpm=5, budget=DAY)
    )
    changed = await remote.update_key(issued.id, UpdateApiKey(tpm=7))
    assert (changed.name, changed.models, changed.rpm, changed.tpm) == ("ci", ["a"], 5, 7)
    assert changed.budget == DAY
    cleared = await remote.update_key(issued.id, UpdateApiKey.model_validate({"rpm": None}))
    assert (cleared.rpm, cleared.tpm, cleared.name) == (None, 7, "ci")
    page = await remote.list_keys(limit=1)
    assert [k.id for k in page.data] == [issued.id] and not page.has_more
    rotated = await remote.rotate_key(issued.id, RotateApiKey())
    assert await remote.get_key(issued.id) == _without_secret(rotated)


async def test_rotations_at_the_same_moment_form_one_chain(gateway_db: Database) -> None:
    """Each rotation that succeeds starts from the secret current when it wrote; one that read a
    secret another rotation has replaced is a 409 (PostgreSQL; SQLite runs them one by one). So no
    successful rotation's secret is lost to a race: the previous secret kept is the one before
    the current, and both work."""
    keys = registry(gateway_db, cache_seconds=30)
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme"))
    await asyncio.gather(*(keys.get_key(issued.id) for _ in range(6)))  # six pooled connections
    results = await asyncio.gather(
        *(keys.rotate_key(issued.id, RotateApiKey(grace_seconds=600)) for _ in range(6)),
        return_exceptions=True,
    )
    done = [r for r in results if isinstance(r, IssuedApiKey)]
    assert done and all(isinstance(r, IssuedApiKey | Conflict) for r in results), results
    async with gateway_db.read() as conn:
        row = (await conn.execute(select(api_keys))).one()._mapping
    by_hash = {hash_key(r.key): r.key for r in done} | {hash_key(issued.key): issued.key}
    assert row["key_hash"] in by_hash and row["previous_key_hash"] in by_hash
    if len(done) > 1:  # the previous secret is another successful rotation's, not the original
        assert row["previous_key_hash"] != hash_key(issued.key)
    working = [k for k in by_hash.values() if await keys.authenticate(k) is not None]
    assert sorted(working) == sorted(
        by_hash[h] for h in (row["key_hash"], row["previous_key_hash"])
    )


async def test_a_customers_new_limits_reach_its_keys_within_the_cache_time(
    gateway_db: Database,
) -> None:
    customers = FakeCustomers("acme")
    keys = KeyRegistry(gateway_db, customers, cache_seconds=0.2)
    issued = await keys.create_key(CreateApiKey(customer_id="cus_acme"))
    before = await keys.authenticate(issued.key)
    assert before is not None and before.customer_limits == Limits()

    acme = customers.by_id["cus_acme"]
    customers.by_id["cus_acme"] = acme.model_copy(update={"limits": Limits(tpm=42)})
    await asyncio.sleep(0.25)
    after = await keys.authenticate(issued.key)
    assert after is not None and after.customer_limits == Limits(tpm=42)
