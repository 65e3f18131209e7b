"""The events module's tables (its own database; no other module reads them).

`deliveries` holds every webhook asked for, keyed by its `webhook-id`, with the body signed at each
attempt and when the next attempt is due; `signing_secrets` one secret per customer, and the one it
replaced while that one's grace period lasts (receivers accept either, so a rotation drops nothing).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("customer_id", String(200), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("payload", Text, nullable=False),  # the JSON body, exactly as signed and sent
    Column("traceparent", String(55), nullable=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(500), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # Milliseconds; null once delivered or dead. A sender claims a due row by moving it forward.
    Column("next_attempt_ms", BigInteger, nullable=True),
    Column("delivered_at", BigInteger, nullable=True),
    Index("ix_deliveries_due", "next_attempt_ms"),
    Index("ix_deliveries_status", "status", "id"),
)

signing_secrets = Table(
    "signing_secrets",
    metadata,
    Column("customer_id", String(200), primary_key=True),
    Column("secret", String(100), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("previous_secret", String(100), nullable=True),
    Column("previous_until", BigInteger, nullable=True),
)
