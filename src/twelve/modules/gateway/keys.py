"""API keys: issue, list, change, rotate, revoke, and authenticate with a short-lived cache.

A key is `tw-`, 256 random bits and a checksum (`key_format.py`). Only its SHA-256 is stored: the
keys are random, so a fast hash is as safe as a slow one and keeps authentication off the hot
path's CPU budget. A key whose checksum fails is refused before any hashing or lookup.
Lookups are cached for `cache_seconds` (hits and misses alike; see `key_cache.py`), so the hot path
does not wait on the database; a revocation, change or rotation in this process drops the entries
at once (even for a lookup under way), and other processes see it when their entry expires.

A lookup answers with everything admission needs, so a request costs no other read: the key's
allow-list, limits, budget and expiry, and its customer's limits (asked of the credits port inside
the cached lookup). Expiry is checked per request by the authenticate stage, since a cached answer
may outlive it; a rotated-out secret's grace is checked here, per request, for the same reason.

Each command is one unit of work (`kernel/unit_of_work.py`): the key row and the event announcing
it (written by the outbox hook, when the module is given one) commit together, and cached entries
are dropped only once the change is durable.

Keys issued before the checksum ("legacy") keep working: their hashes are read once into memory
(no new ones can be issued, so the set only shrinks), and a legacy-shaped key whose hash is not
there is refused without a lookup, exactly like a bad checksum.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, union, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.kernel.quotas import Limits
from twelve.kernel.text import has_control_characters
from twelve.kernel.unit_of_work import OutboxWriter, UnitOfWork
from twelve.modules.credits.api import CustomersService
from twelve.modules.gateway.adapters.tables import api_keys
from twelve.modules.gateway.api import (
    ApiKey,
    CreateApiKey,
    IssuedApiKey,
    KeyPage,
    Principal,
    RotateApiKey,
    UpdateApiKey,
)
from twelve.modules.gateway.key_cache import RefreshingCache
from twelve.modules.gateway.key_format import SHOWN_CHARS, KeyShape, hash_key, new_key, shape
from twelve.modules.gateway.key_rotation import rotate
from twelve.modules.gateway.key_rows import (
    allow_list,
    api_key,
    budget_columns,
    budget_of,
    changes,
    check_expiry,
    limits_of,
)

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class _Found:
    """A cached lookup: who the key is, and until when this secret answers (a rotated-out
    secret's end of grace; None for the current secret)."""

    principal: Principal
    secret_until: float | None = None


class KeyRegistry:
    def __init__(
        self,
        db: Database,
        customers: CustomersService,
        *,
        cache_seconds: float = 1.0,
        outbox: OutboxWriter | None = None,
    ) -> None:
        """`outbox`: writes the events a command publishes, inside its transaction; without
        one, no event is published."""
        self._db = db
        self._outbox = outbox
        self._customers = customers
        self._cache: RefreshingCache[_Found | None] = RefreshingCache(
            self._lookup, ttl=cache_seconds
        )
        self._legacy: frozenset[str] | None = None
        self._legacy_lock = asyncio.Lock()

    async def create_key(self, command: CreateApiKey) -> IssuedApiKey:
        if await self._customers.get_customer(command.customer_id) is None:
            raise NotFound(f"No such customer: {command.customer_id!r}.", param="customer_id")
        key = new_key()
        issued = IssuedApiKey(
            id=f"key_{secrets.token_hex(12)}",
            customer_id=command.customer_id,
            name=command.name,
            prefix=key[:SHOWN_CHARS],
            models=allow_list(command.models),
            created_at=int(time.time()),
            rpm=command.rpm,
            tpm=command.tpm,
            max_concurrency=command.max_concurrency,
            budget=command.budget,
            expires_at=check_expiry(command.expires_at),
            cache=command.cache,
            key=key,
        )
        row = issued.model_dump(exclude={"key", "budget"}) | budget_columns(issued.budget)
        row |= {"key_hash": hash_key(key), "format": KeyShape.CHECKSUMMED.value}
        async with self._unit_of_work() as uow:
            await uow.connection.execute(api_keys.insert().values(**row))
            self._publish(uow, "api_key.created", issued)
        return issued

    async def list_keys(
        self, customer_id: str | None = None, limit: int = 100, after: str | None = None
    ) -> KeyPage:
        """Oldest first, by (created_at, id). `after` is the id of the last key of the previous
        page; an id that names no key is a 400 (a page cannot start after nothing)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"`limit` must be from 1 to {MAX_PAGE}.", param="limit")
        if customer_id is not None and has_control_characters(customer_id):
            return KeyPage(data=[], has_more=False)  # matches nothing; NUL is an error on PG
        query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id).limit(limit + 1)
        if customer_id is not None:
            query = query.where(api_keys.c.customer_id == customer_id)
        async with self._db.read() as conn:
            if after is not None:
                query = query.where(await _after(conn, after))
            rows = (await conn.execute(query)).all()
        keys = [api_key(r._mapping) for r in rows[:limit]]
        return KeyPage(data=keys, has_more=len(rows) > limit)

    async def get_key(self, key_id: str) -> ApiKey | None:
        if has_control_characters(key_id):
            return None
        async with self._db.read() as conn:
            row = await _row(conn, key_id)
        return api_key(row) if row is not None else None

    async def update_key(self, key_id: str, command: UpdateApiKey) -> ApiKey:
        values = changes(command)
        if has_control_characters(key_id):
            raise _no_such_key(key_id)
        async with self._unit_of_work() as uow:
            conn = uow.connection
            if values:
                await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))
            row = await _row(conn, key_id)
            if row is None:
                raise _no_such_key(key_id)
            updated = api_key(row)
            if values:
                self._publish(uow, "api_key.updated", updated)
                self._forget_after_commit(uow, (row["key_hash"], row["previous_key_hash"]))
        return updated

    async def rotate_key(self, key_id: str, command: RotateApiKey) -> IssuedApiKey:
        if has_control_characters(key_id):
            raise _no_such_key(key_id)
        async with self._unit_of_work() as uow:
            rotation = await rotate(uow.connection, key_id, command.grace_seconds)
            self._publish(uow, "api_key.rotated", rotation.issued)
            self._forget_after_commit(uow, rotation.stale_hashes)
        return rotation.issued

    async def revoke_key(self, key_id: str) -> ApiKey:
        # An id with control characters matches nothing (and NUL is an error on PostgreSQL).
        if has_control_characters(key_id):
            raise _no_such_key(key_id)
        async with self._unit_of_work() as uow:
            row = await _revoke(uow.connection, key_id)
            if row is None:
                raise _no_such_key(key_id)
            revoked = api_key(row)
            self._publish(uow, "api_key.revoked", revoked)
            self._forget_after_commit(uow, (row["key_hash"], row["previous_key_hash"]))
        return revoked

    def _unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self._db, outbox=self._outbox)

    def _publish(self, uow: UnitOfWork, kind: str, key: ApiKey) -> None:
        if self._outbox is not None:
            uow.publish({"type": kind, "key": key.model_dump(mode="json", exclude={"key"})})

    def _forget_after_commit(self, uow: UnitOfWork, digests: Iterable[str | None]) -> None:
        stale = [d for d in digests if d is not None]

        def forget() -> None:
            for digest in stale:
                self._cache.forget(digest)

        uow.after_commit(forget)

    async def close(self) -> None:
        await self._cache.drain()

    async def authenticate(self, key: str) -> Principal | None:
        found = shape(key)
        if found is KeyShape.INVALID:
            return None
        digest = hash_key(key)
        if found is KeyShape.LEGACY and digest not in await self._legacy_hashes():
            return None
        entry = await self._cache.get(digest)
        if entry is None:
            return None
        if entry.secret_until is not None and time.time() >= entry.secret_until:
            return None  # a rotated-out secret whose grace is over
        return entry.principal

    async def principal_of(self, key_id: str) -> Principal | None:
        """The key's principal by its id (a job runs under the key that submitted it); None when
        the key does not exist, is revoked or has expired."""
        async with self._db.read() as conn:
            found = await _row(conn, key_id)
        if found is None or found["revoked_at"] is not None:
            return None
        principal = await self._principal(found)
        if principal.expires_at is not None and time.time() >= principal.expires_at:
            return None
        return principal

    async def _legacy_hashes(self) -> frozenset[str]:
        """The hashes of keys issued before the checksum, read once (none can be added). A legacy
        secret rotated out but still in its grace is among them (as is, harmlessly, any other
        secret in its grace)."""
        if self._legacy is None:
            async with self._legacy_lock:
                if self._legacy is None:
                    live = api_keys.c.revoked_at.is_(None)
                    query = union(
                        select(api_keys.c.key_hash).where(
                            api_keys.c.format == KeyShape.LEGACY.value, live
                        ),
                        select(api_keys.c.previous_key_hash).where(
                            api_keys.c.previous_expires_at > int(time.time()), live
                        ),
                    )
                    async with self._db.read() as conn:
                        self._legacy = frozenset((await conn.execute(query)).scalars())
        return self._legacy

    async def _lookup(self, digest: str) -> _Found | None:
        query = select(api_keys).where(
            or_(api_keys.c.key_hash == digest, api_keys.c.previous_key_hash == digest)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None or row._mapping["revoked_at"] is not None:
            return None
        found = row._mapping
        secret_until = None
        if found["key_hash"] != digest:
            secret_until = found["previous_expires_at"]
            if secret_until is None or secret_until <= time.time():
                return None
        return _Found(await self._principal(found), secret_until)

    async def _principal(self, found: RowMapping) -> Principal:
        customer = await self._customers.get_customer(found["customer_id"])
        models = found["models"]
        return Principal(
            key_id=found["id"],
            customer_id=found["customer_id"],
            models=frozenset(models) if models is not None else None,
            limits=limits_of(found),
            customer_limits=customer.limits if customer is not None else Limits(),
            budget=budget_of(found),
            expires_at=found["expires_at"],
            cache=found["cache"],
        )


async def _row(conn: AsyncConnection, key_id: str) -> RowMapping | None:
    row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
    return row._mapping if row is not None else None


async def _after(conn: AsyncConnection, key_id: str) -> ColumnElement[bool]:
    """The condition for keys that come after `key_id` in (created_at, id) order."""
    cursor = None if has_control_characters(key_id) else await _row(conn, key_id)
    if cursor is None:
        raise InvalidRequest(
            f"`after` names no API key: {key_id!r}. Pass the `last_id` of the previous page.",
            param="after",
        )
    created_at = cursor["created_at"]
    return or_(
        api_keys.c.created_at > created_at,
        and_(api_keys.c.created_at == created_at, api_keys.c.id > key_id),
    )


async def _revoke(conn: AsyncConnection, key_id: str) -> RowMapping | None:
    await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=int(time.time()))
    )
    return await _row(conn, key_id)


def _no_such_key(key_id: str) -> NotFound:
    return NotFound(f"No such API key: {key_id!r}.", param="id")
