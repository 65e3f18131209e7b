"""accounts, journal, holds, idempotency keys

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("held", sa.BigInteger, nullable=False),
    )
    # Customers made before the ledger start with an empty account.
    op.execute("INSERT INTO accounts (id, balance, held) SELECT id, 0, 0 FROM customers")
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("hold_id", sa.String(40), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("transaction_id", "account_id", name="uq_journal_transaction_account"),
    )
    op.create_index("ix_journal_account", "journal", ["account_id", "id"])
    op.create_table(
        "holds",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("charged", sa.BigInteger, nullable=True),
        sa.Column("overrun", sa.Boolean, nullable=False),
        sa.Column("at_hold", sa.Boolean, nullable=False),
    )
    op.create_index("ix_holds_open", "holds", ["state", "expires_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index("ix_holds_open", "holds")
    op.drop_table("holds")
    op.drop_index("ix_journal_account", "journal")
    op.drop_table("journal")
    op.drop_table("accounts")
