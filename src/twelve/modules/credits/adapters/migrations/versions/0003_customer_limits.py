"""customer limits: requests and tokens per minute, concurrent requests (null: no limit)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_LIMITS = ("rpm", "tpm", "max_concurrency")


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        for name in _LIMITS:
            batch.add_column(sa.Column(name, sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        for name in _LIMITS:
            batch.drop_column(name)
