"""The jobs module's table (its own database; no other module reads it).

`jobs` is the read model of every job: what was asked, where it stands, its result or the file
holding it. DBOS Transact keeps the workflow's own state (steps, queue) in its system database;
this table is what customers and admins see, moved forward by the workflow's steps with
conditional updates so that a step re-run after a crash changes nothing twice.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("customer_id", String(200), nullable=False),
    Column("key_id", String(200), nullable=False),
    Column("task_id", String(200), nullable=True),
    Column("task_type", String(32), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("model", String(200), nullable=True),
    Column("parameters", Text, nullable=False),  # JSON
    Column("callback_url", String(2048), nullable=True),
    Column("max_retries", Integer, nullable=False),
    Column("timeout_seconds", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("run", Integer, nullable=False),  # 1, then +1 for each admin replay
    Column("hold_id", String(64), nullable=True),
    Column("traceparent", String(55), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("client_created_at", BigInteger, nullable=True),
    Column("started_at", BigInteger, nullable=True),
    Column("finished_at", BigInteger, nullable=True),
    Column("result", Text, nullable=True),  # JSON, when small enough to inline
    Column("result_file_id", String(64), nullable=True),
    Column("last_error", Text, nullable=True),  # JSON JobError
    Column("cost_micros", BigInteger, nullable=False),
    Column("cost_unknown", Integer, nullable=False),  # 1: an attempt's usage was unknown
    Column("webhook_id", String(200), nullable=True),
    Index("ux_jobs_task", "customer_id", "task_id", unique=True),
    Index("ix_jobs_customer", "customer_id", "created_at", "id"),
    Index("ix_jobs_status", "status", "priority"),
)

# A workflow run: its definition as it was when started (a config change cannot reshape a run in
# flight), its request, and every step's state (JSON list, rewritten by each step).
workflow_runs = Table(
    "workflow_runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("customer_id", String(200), nullable=False),
    Column("key_id", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("partial", Integer, nullable=False),
    Column("definition", Text, nullable=False),
    Column("request", Text, nullable=False),
    Column("steps", Text, nullable=False),
    Column("result", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("callback_url", String(2048), nullable=True),
    Column("traceparent", String(55), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=True),
    Column("finished_at", BigInteger, nullable=True),
    Index("ix_workflow_runs_customer", "customer_id", "created_at", "id"),
)

# Every process that works the queue, by its DBOS executor name, with when it last said it was
# alive: a worker not seen for `takeover_seconds` is presumed dead, and the jobs it had in hand
# go back to the queue for the others. A worker that stops cleanly says so (`seen_at` 0).
workers = Table(
    "workers",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("seen_at", Float, nullable=False),
)
