"""usage units: images, seconds of audio and characters on each usage row (existing rows: 0)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_UNITS = (("images", sa.BigInteger), ("audio_seconds", sa.Float), ("characters", sa.BigInteger))


def upgrade() -> None:
    # A server default fills the rows already there (and a writer that names none of them).
    with op.batch_alter_table("usage") as batch:
        for name, kind in _UNITS:
            batch.add_column(sa.Column(name, kind, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("usage") as batch:
        for name, _kind in reversed(_UNITS):
            batch.drop_column(name)
