"""The gateway's tables: API keys, stored only as SHA-256 hashes, with their limits."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, MetaData, String, Table, true

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("customer_id", String(40), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("models", JSON, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    # "checksummed" (today's format) or "legacy" (issued before the checksum; see key_format.py).
    Column("format", String(16), nullable=False, server_default="legacy"),
    # Limits of this key alone; null is no limit.
    Column("rpm", BigInteger, nullable=True),
    Column("tpm", BigInteger, nullable=True),
    Column("max_concurrency", BigInteger, nullable=True),
    # A spend cap per UTC "day" or "month", in micro-dollars; both null without a budget.
    Column("budget_micros", BigInteger, nullable=True),
    Column("budget_period", String(8), nullable=True),
    Column("expires_at", BigInteger, nullable=True),
    # A rotation: the previous secret's hash answers until `previous_expires_at`.
    Column("rotated_at", BigInteger, nullable=True),
    Column("previous_key_hash", String(64), nullable=True, unique=True, index=True),
    Column("previous_expires_at", BigInteger, nullable=True),
    # False: the prompt cache never answers this key.
    Column("cache", Boolean, nullable=False, server_default=true()),
)
