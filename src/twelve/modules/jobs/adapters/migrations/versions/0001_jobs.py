"""jobs

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("key_id", sa.String(200), nullable=False),
        sa.Column("task_id", sa.String(200), nullable=True),
        sa.Column("task_type", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("callback_url", sa.String(2048), nullable=True),
        sa.Column("max_retries", sa.Integer, nullable=False),
        sa.Column("timeout_seconds", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("run", sa.Integer, nullable=False),
        sa.Column("hold_id", sa.String(64), nullable=True),
        sa.Column("traceparent", sa.String(55), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("client_created_at", sa.BigInteger, nullable=True),
        sa.Column("started_at", sa.BigInteger, nullable=True),
        sa.Column("finished_at", sa.BigInteger, nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("result_file_id", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("cost_micros", sa.BigInteger, nullable=False),
        sa.Column("cost_unknown", sa.Integer, nullable=False),
        sa.Column("webhook_id", sa.String(200), nullable=True),
    )
    op.create_index("ux_jobs_task", "jobs", ["customer_id", "task_id"], unique=True)
    op.create_index("ix_jobs_customer", "jobs", ["customer_id", "created_at", "id"])
    op.create_index("ix_jobs_status", "jobs", ["status", "priority"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status", "jobs")
    op.drop_index("ix_jobs_customer", "jobs")
    op.drop_index("ux_jobs_task", "jobs")
    op.drop_table("jobs")
