"""usage rows, per-key spend per budget period, and the key and period a hold counts against

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("deployment", sa.String(200), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_micros", sa.BigInteger, nullable=False),
        sa.Column("unpriced", sa.Boolean, nullable=False),
        sa.Column("usage_unknown", sa.Boolean, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
    )
    op.create_index("ix_usage_customer_at", "usage", ["customer_id", "at"])
    op.create_index("ix_usage_key_at", "usage", ["key_id", "at"])
    op.create_table(
        "key_spend",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("period_start", sa.BigInteger, primary_key=True),
        sa.Column("spent", sa.BigInteger, nullable=False),
        sa.Column("held", sa.BigInteger, nullable=False),
    )
    with op.batch_alter_table("holds") as batch:
        batch.add_column(sa.Column("key_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("key_period", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("holds") as batch:
        batch.drop_column("key_period")
        batch.drop_column("key_id")
    op.drop_table("key_spend")
    op.drop_index("ix_usage_key_at", "usage")
    op.drop_index("ix_usage_customer_at", "usage")
    op.drop_table("usage")
