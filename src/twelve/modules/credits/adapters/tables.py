"""The credits module's tables (its own database; no other module reads them).

`accounts` keeps each customer's posted `balance` and `held` (reserved by open holds) so that a
hold is one conditional write; both are derivable: the balance is the sum of the account's
`journal` lines, held the sum of its open `holds`. The journal is append-only and every
transaction's lines sum to zero (a credit moves money from `sys:funding`, a charge to
`sys:revenue`; system accounts' balances are only their journal sums).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

customers = Table(
    "customers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    # Limits across all of the customer's keys; null is no limit.
    Column("rpm", BigInteger, nullable=True),
    Column("tpm", BigInteger, nullable=True),
    Column("max_concurrency", BigInteger, nullable=True),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),  # the customer's id
    Column("balance", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False),
)

journal = Table(
    "journal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("transaction_id", String(40), nullable=False),
    Column("account_id", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("hold_id", String(40), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("transaction_id", "account_id", name="uq_journal_transaction_account"),
    Index("ix_journal_account", "account_id", "id"),
)

holds = Table(
    "holds",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("state", String(10), nullable=False),  # open | settled | voided
    Column("request_id", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("charged", BigInteger, nullable=True),
    Column("overrun", Boolean, nullable=False),
    Column("at_hold", Boolean, nullable=False),  # settled at the hold: the cost was unknown
    # The key whose budget the hold counts against, and the budget period's start (unix
    # seconds): settling moves the hold from `key_spend.held` to `spent` in that same period.
    Column("key_id", String(40), nullable=True),
    Column("key_period", BigInteger, nullable=True),
    Index("ix_holds_open", "state", "expires_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", String(40), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("transaction_id", String(40), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# What each key with a budget has spent and holds in one budget period (a UTC day or month,
# by its start in unix seconds): a hold must fit `spent + held` under the budget, in the same
# transaction as the customer's balance.
key_spend = Table(
    "key_spend",
    metadata,
    Column("key_id", String(40), primary_key=True),
    Column("period_start", BigInteger, primary_key=True),
    Column("spent", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False),
)

# One row per finished request that reached an upstream (`UsageRecord`), written in batches;
# `day` is the UTC date of `at`, kept so that both engines group by it alike.
usage = Table(
    "usage",
    metadata,
    Column("request_id", String(128), primary_key=True),
    Column("customer_id", String(40), nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("model", String(200), nullable=False),
    Column("deployment", String(200), nullable=False),
    Column("endpoint", String(64), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cost_micros", BigInteger, nullable=False),
    Column("unpriced", Boolean, nullable=False),
    Column("usage_unknown", Boolean, nullable=False),
    Column("at", Float, nullable=False),
    Column("day", String(10), nullable=False),
    # Units billed per unit rather than per token (migration 0005; rows before it hold 0).
    Column("images", BigInteger, nullable=False, server_default="0"),
    Column("audio_seconds", Float, nullable=False, server_default="0"),
    Column("characters", BigInteger, nullable=False, server_default="0"),
    Index("ix_usage_customer_at", "customer_id", "at"),
    Index("ix_usage_key_at", "key_id", "at"),
)
