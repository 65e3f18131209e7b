"""api keys: limits, a spend budget, expiry, and rotation (the previous secret's hash)

Revision ID: 0003
Revises: 0002

A budget is kept in integer micro-dollars with its period ("day" or "month"). A rotation keeps the
previous secret's hash, valid until `previous_expires_at`, so that authentication finds the key
by either secret during the grace period.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_NULLABLE_INTEGERS = (
    "rpm",
    "tpm",
    "max_concurrency",
    "budget_micros",
    "expires_at",
    "rotated_at",
    "previous_expires_at",
)


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for name in _NULLABLE_INTEGERS:
            batch.add_column(sa.Column(name, sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("budget_period", sa.String(8), nullable=True))
        batch.add_column(sa.Column("previous_key_hash", sa.String(64), nullable=True))
        batch.create_index("ix_api_keys_previous_key_hash", ["previous_key_hash"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_previous_key_hash")
        batch.drop_column("previous_key_hash")
        batch.drop_column("budget_period")
        for name in reversed(_NULLABLE_INTEGERS):
            batch.drop_column(name)
