"""Where each module is and its database: settings generated for every module of the catalogue,
refused by their variable's name like any other setting."""

from __future__ import annotations

import pytest

from tests.app.test_settings import clean_environment, problems
from twelve.app.catalogue import CATALOGUE
from twelve.app.settings import MODULES_WITH_DATABASES
from twelve.app.settings_errors import load_settings

__all__ = ["clean_environment"]  # the autouse fixture applies here too


@pytest.mark.parametrize("module", [m.name for m in CATALOGUE])
def test_every_module_has_a_url_setting(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    monkeypatch.setenv(f"TWELVE_{module.upper()}_URL", "http://10.0.0.7:8081")
    assert load_settings().module_url(module) == "http://10.0.0.7:8081"
    [line] = problems(monkeypatch, **{f"TWELVE_{module.upper()}_URL": "ftp://x"})
    assert line.startswith(f"TWELVE_{module.upper()}_URL: must start with http:// or https://")


def test_a_module_with_migrations_has_a_database_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"gateway", "credits", "storage", "events"} <= set(MODULES_WITH_DATABASES)
    monkeypatch.setenv("TWELVE_CREDITS_DATABASE_URL", "sqlite:///credits.db")
    settings = load_settings()
    assert settings.module_database_url("credits") == "sqlite:///credits.db"
    assert settings.module_database_url("gateway") is None
    [line] = problems(monkeypatch, TWELVE_GATEWAY_DATABASE_URL="mysql://u:hunter2@db/x")
    assert line.startswith("TWELVE_GATEWAY_DATABASE_URL: must be a postgresql:// or sqlite:///")
    assert "hunter2" not in line


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_location_is_unset(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TWELVE_CHAT_URL", value)
    monkeypatch.setenv("TWELVE_GATEWAY_DATABASE_URL", value)
    settings = load_settings()
    assert settings.module_url("chat") is None
    assert settings.module_database_url("gateway") is None
