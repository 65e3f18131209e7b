"""Bootstrap on the embedded default: SQLite files in the data dir, migrations applied at start."""

from __future__ import annotations

from pathlib import Path

from twelve.app.bootstrap import build
from twelve.app.settings import Settings


async def test_migrations_are_idempotent_across_restarts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, admin_key="adm")
    first = build(settings)
    await first.start()
    await first.admin.create_customer("acme")
    await first.stop()
    assert (tmp_path / "gateway.db").is_file()
    assert (tmp_path / "credits.db").is_file()

    second = build(settings)
    await second.start()
    try:
        assert [c.name for c in await second.credits.list_customers()] == ["acme"]
    finally:
        await second.stop()
