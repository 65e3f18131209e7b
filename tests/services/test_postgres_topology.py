"""The whole process on PostgreSQL: one DSN, a schema per module, migrations applied at start."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.app.test_bootstrap import start_failure
from tests.databases import postgres_url
from twelve.app.bootstrap import build
from twelve.app.settings import Settings

ADMIN_KEY = "adm-" + "0" * 40

pytestmark = pytest.mark.postgres


async def test_one_dsn_gives_every_module_its_own_schema(tmp_path: Path) -> None:
    async with postgres_url() as url:
        container = build(Settings(data_dir=tmp_path, database_url=url, admin_key=ADMIN_KEY))
        await container.start()
        try:
            customer = await container.administration().create_customer("acme")
            issued = await container.administration().create_key_for("acme")
            principal = await container.administration().keys.authenticate(issued.key)
            assert principal is not None
            assert principal.customer_id == customer.id
            databases = (await container.readiness()).databases
            assert databases == {
                "gateway": True, "credits": True, "jobs": True, "storage": True, "events": True,
            }  # fmt: skip
        finally:
            await container.stop()

        conn = await asyncpg.connect(url)
        try:
            tables = await conn.fetch(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_schema IN ('gateway', 'credits', 'storage') ORDER BY 1, 2"
            )
        finally:
            await conn.close()
        assert [(r["table_schema"], r["table_name"]) for r in tables] == [
            ("credits", "accounts"),
            ("credits", "alembic_version"),
            ("credits", "customers"),
            ("credits", "holds"),
            ("credits", "idempotency_keys"),
            ("credits", "journal"),
            ("credits", "key_spend"),
            ("credits", "usage"),
            ("gateway", "alembic_version"),
            ("gateway", "api_keys"),
            ("gateway", "outbox"),
            ("storage", "alembic_version"),
            ("storage", "blobs"),
            ("storage", "files"),
        ]
        assert not (tmp_path / "gateway.db").exists()
        assert not (tmp_path / "storage.db").exists()


async def test_wrong_postgres_credentials_are_one_line(tmp_path: Path) -> None:
    async with postgres_url() as url:
        scheme, rest = url.split("://", 1)
        wrong = f"{scheme}://no_such_role:secret-pw@{rest.split('@', 1)[-1]}"
        message = await start_failure(Settings(data_dir=tmp_path, database_url=wrong))
    assert message.startswith("TWELVE_DATABASE_URL: cannot use the gateway database ")
    assert 'role "no_such_role" does not exist' in message
    assert "secret-pw" not in message
