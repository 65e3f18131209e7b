"""Bootstrap on the embedded default: SQLite files in the data dir, migrations applied at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from twelve.app.bootstrap import build
from twelve.app.settings import Settings
from twelve.kernel.config_file import ConfigFileError

ADMIN_KEY = "adm-" + "0" * 40
INTERNAL_KEY = "int-" + "0" * 40


async def test_migrations_are_idempotent_across_restarts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, admin_key=ADMIN_KEY)
    first = build(settings)
    await first.start()
    await first.administration().create_customer("acme")
    await first.stop()
    assert (tmp_path / "gateway.db").is_file()
    assert (tmp_path / "credits.db").is_file()

    second = build(settings)
    await second.start()
    try:
        customers = await second.administration().customers.list_customers()
        assert [c.name for c in customers] == ["acme"]
    finally:
        await second.stop()


def test_unknown_modules_are_refused() -> None:
    with pytest.raises(ValidationError, match="unknown modules"):
        Settings(modules="gateway,nope")


def test_a_module_served_elsewhere_needs_its_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"TWELVE_\w+_URL and TWELVE_INTERNAL_KEY"):
        build(Settings(data_dir=tmp_path, modules="gateway,admin"))


def test_a_worker_process_has_no_databases_and_no_public_api(tmp_path: Path) -> None:
    container = build(Settings(data_dir=tmp_path, modules="models,chat", internal_key=INTERNAL_KEY))
    assert container.databases == {}
    assert container.gateway is None and container.admin is None
    assert set(container.internal) == {"models", "chat"}
