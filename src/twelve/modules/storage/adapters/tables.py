"""The storage module's tables (its own database; no other module reads them).

`files` holds each customer's files; `blobs` holds one row per distinct content (its SHA-256) with
the number of files that reference it, so a blob is removed exactly when its last file goes. Both
change in one transaction with the blob's placement or removal, which serialises a put and a
delete of the same content (the `blobs` row is the lock on PostgreSQL, the write lock on SQLite).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table

metadata = MetaData()

files = Table(
    "files",
    metadata,
    # Insertion order: the list's order and its `after` cursor (created_at ties within a second).
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("customer_id", String(200), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_files_customer_seq", "customer_id", "seq"),
    Index("ix_files_sha256", "sha256"),
)

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("bytes", BigInteger, nullable=False),
    Column("refs", Integer, nullable=False),
)
