"""API keys: issue, list, revoke, and authenticate with a short-lived cache.

A key is `tw-`, 256 random bits and a checksum (`key_format.py`). Only its SHA-256 is stored: the
keys are random, so a fast hash is as safe as a slow one and keeps authentication off the hot
path's CPU budget. A key whose checksum fails is refused before any hashing or lookup.
Lookups are cached for `cache_seconds` (hits and misses alike; see `key_cache.py`), so the hot path
does not wait on the database; a revocation in this process drops the entry at once (even for a
lookup under way), and other processes see it when their entry expires.

Issuing and revoking are each one unit of work (`kernel/unit_of_work.py`): the key row and the
event announcing it (written by the outbox hook, when the module is given one) commit together,
and a revocation drops the cached entry only once it is durable.

Keys issued before the checksum ("legacy") keep working: their hashes are read once into memory
(no new ones can be issued, so the set only shrinks), and a legacy-shaped key whose hash is not
there is refused without a lookup, exactly like a bad checksum.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from twelve.kernel.db import Database
from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.kernel.text import has_control_characters
from twelve.kernel.unit_of_work import OutboxWriter, UnitOfWork
from twelve.modules.credits.api import CustomersService
from twelve.modules.gateway.adapters.tables import api_keys
from twelve.modules.gateway.api import ApiKey, CreateApiKey, IssuedApiKey, Principal
from twelve.modules.gateway.key_cache import RefreshingCache
from twelve.modules.gateway.key_format import KeyShape, new_key, shape

_SHOWN_CHARS = 10


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


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
        self._cache: RefreshingCache[Principal | None] = RefreshingCache(
            self._lookup, ttl=cache_seconds
        )
        self._legacy: frozenset[str] | None = None
        self._legacy_lock = asyncio.Lock()

    async def create_key(self, command: CreateApiKey) -> IssuedApiKey:
        if await self._customers.get_customer(command.customer_id) is None:
            raise NotFound(f"No such customer: {command.customer_id!r}.", param="customer_id")
        if command.models is not None and not command.models:
            raise InvalidRequest(
                "`models` must name at least one model, or be omitted to allow every model.",
                param="models",
            )
        key = new_key()
        issued = IssuedApiKey(
            id=f"key_{secrets.token_hex(12)}",
            customer_id=command.customer_id,
            name=command.name,
            prefix=key[:_SHOWN_CHARS],
            models=sorted(set(command.models)) if command.models else None,
            created_at=int(time.time()),
            key=key,
        )
        row = issued.model_dump(exclude={"key"}) | {
            "key_hash": hash_key(key),
            "format": KeyShape.CHECKSUMMED.value,
        }
        async with self._unit_of_work() as uow:
            await uow.connection.execute(insert(api_keys).values(**row))
            self._publish(uow, "api_key.created", issued)
        return issued

    async def list_keys(self, customer_id: str | None = None) -> list[ApiKey]:
        if customer_id is not None and has_control_characters(customer_id):
            return []  # matches nothing, and NUL would be an error on PostgreSQL
        query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        if customer_id is not None:
            query = query.where(api_keys.c.customer_id == customer_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_api_key(r._mapping) for r in rows]

    async def revoke_key(self, key_id: str) -> ApiKey:
        # An id with control characters matches nothing (and NUL is an error on PostgreSQL).
        if has_control_characters(key_id):
            raise _no_such_key(key_id)
        async with self._unit_of_work() as uow:
            row = await _revoke(uow.connection, key_id)
            if row is None:
                raise _no_such_key(key_id)
            revoked = _api_key(row)
            self._publish(uow, "api_key.revoked", revoked)
            digest = row["key_hash"]
            uow.after_commit(lambda: self._cache.forget(digest))
        return revoked

    def _unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self._db, outbox=self._outbox)

    def _publish(self, uow: UnitOfWork, kind: str, key: ApiKey) -> None:
        if self._outbox is not None:
            uow.publish({"type": kind, "key": key.model_dump(mode="json", exclude={"key"})})

    async def close(self) -> None:
        await self._cache.drain()

    async def authenticate(self, key: str) -> Principal | None:
        found = shape(key)
        if found is KeyShape.INVALID:
            return None
        digest = hash_key(key)
        if found is KeyShape.LEGACY and digest not in await self._legacy_hashes():
            return None
        return await self._cache.get(digest)

    async def _legacy_hashes(self) -> frozenset[str]:
        """The hashes of keys issued before the checksum, read once (none can be added)."""
        if self._legacy is None:
            async with self._legacy_lock:
                if self._legacy is None:
                    query = select(api_keys.c.key_hash).where(
                        api_keys.c.format == KeyShape.LEGACY.value,
                        api_keys.c.revoked_at.is_(None),
                    )
                    async with self._db.read() as conn:
                        self._legacy = frozenset((await conn.execute(query)).scalars())
        return self._legacy

    async def _lookup(self, digest: str) -> Principal | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(api_keys).where(api_keys.c.key_hash == digest))
            ).first()
        if row is None or row._mapping["revoked_at"] is not None:
            return None
        models = row._mapping["models"]
        return Principal(
            key_id=row._mapping["id"],
            customer_id=row._mapping["customer_id"],
            models=frozenset(models) if models is not None else None,
        )


async def _revoke(conn: AsyncConnection, key_id: str) -> RowMapping | None:
    await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=int(time.time()))
    )
    row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
    return row._mapping if row is not None else None


def _no_such_key(key_id: str) -> NotFound:
    return NotFound(f"No such API key: {key_id!r}.", param="id")


def _api_key(row: RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"],
        customer_id=row["customer_id"],
        name=row["name"],
        prefix=row["prefix"],
        models=row["models"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
