"""api keys: which format each key was issued in

Revision ID: 0002
Revises: 0001

Keys issued before the checksummed format are `legacy`; the gateway keeps their hashes in memory
so that a legacy-shaped key it never issued costs no lookup.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("format", sa.String(16), nullable=False, server_default="legacy")
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("format")
