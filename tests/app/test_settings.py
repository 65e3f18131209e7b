"""Settings: checked up front, and every problem told as one line naming the variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from twelve.app.settings import Settings
from twelve.app.settings_errors import SettingsError, ensure_data_dir, load_settings

LONG = "k" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TWELVE_ variable of the machine running the tests leaks into these."""
    for name in list(os.environ):
        if name.startswith("TWELVE_"):
            monkeypatch.delenv(name)


def problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return caught.value.problems


@pytest.mark.parametrize(
    "name", ["TWELVE_INTERNAL_KEY", "TWELVE_ADMIN_KEY", "TWELVE_METRICS_TOKEN"]
)
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_secret_is_unset(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    settings = load_settings()
    field = name.removeprefix("TWELVE_").lower()
    assert getattr(settings, field) is None


@pytest.mark.parametrize(
    "name", ["TWELVE_INTERNAL_KEY", "TWELVE_ADMIN_KEY", "TWELVE_METRICS_TOKEN"]
)
def test_a_short_secret_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    [line] = problems(monkeypatch, **{name: "s3cret-but-short"})
    assert line.startswith(f"{name}: must be at least 32 characters (got 16)")
    assert "s3cret" not in line


def test_a_long_enough_secret_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWELVE_INTERNAL_KEY", LONG)
    key = load_settings().internal_key
    assert key is not None and key.get_secret_value() == LONG


def test_port_out_of_range_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems(monkeypatch, TWELVE_PORT="99999") == [
        "TWELVE_PORT: must be ≤ 65535 (got 99999)"
    ]


def test_every_problem_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = problems(
        monkeypatch,
        TWELVE_LOG_LEVEL="LOUD",
        TWELVE_DATABASE_URL="notadsn",
        TWELVE_PORT="eighty",
        TWELVE_LOG_FORMAT="xml",
    )
    assert len(lines) == 4
    by_name = {line.split(":", 1)[0]: line for line in lines}
    assert "must be one of 'DEBUG'" in by_name["TWELVE_LOG_LEVEL"]
    assert by_name["TWELVE_LOG_LEVEL"].endswith("(got LOUD)")
    assert "must be a PostgreSQL URL" in by_name["TWELVE_DATABASE_URL"]
    assert by_name["TWELVE_PORT"] == "TWELVE_PORT: must be a whole number (got eighty)"
    assert "'json' or 'console'" in by_name["TWELVE_LOG_FORMAT"]
    assert all("\n" not in line and "pydantic" not in line for line in lines)


def test_a_database_password_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    [line] = problems(monkeypatch, TWELVE_DATABASE_URL="mysql://u:hunter2@db/x")
    assert "hunter2" not in line
    assert "mysql://u:***@db/x" in line


def test_log_level_and_format_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWELVE_LOG_LEVEL", "debug")
    monkeypatch.setenv("TWELVE_LOG_FORMAT", "Console")
    settings = load_settings()
    assert (settings.log_level, settings.log_format) == ("DEBUG", "console")


def test_an_empty_modules_option_names_the_option() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"modules": ""}, {"modules": "--modules"})
    [line] = caught.value.problems
    assert line.startswith("--modules: name at least one module")
    assert line.endswith("(got '')")


def test_unknown_modules_are_named() -> None:
    with pytest.raises(SettingsError, match="unknown modules nope; choose from gateway"):
        load_settings({"modules": "gateway,nope"})


def test_options_not_given_leave_the_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWELVE_PORT", "9000")
    assert load_settings({"port": None, "host": "0.0.0.0"}).port == 9000


def test_a_data_dir_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SettingsError) as caught:
        ensure_data_dir(Settings(data_dir=blocker / "data"))
    [line] = caught.value.problems
    assert line.startswith(f"TWELVE_DATA_DIR: cannot use {blocker / 'data'} (")


def test_proc_is_not_a_data_dir() -> None:
    with pytest.raises(SettingsError, match=r"^TWELVE_DATA_DIR: cannot use /proc/nope"):
        ensure_data_dir(Settings(data_dir=Path("/proc/nope")))


def test_a_usable_data_dir_is_created(tmp_path: Path) -> None:
    path = ensure_data_dir(Settings(data_dir=tmp_path / "new" / "data"))
    assert path.is_dir()
    assert list(path.iterdir()) == []  # the write probe leaves nothing behind


def test_serving_modules_are_all_twelve_now() -> None:
    served = Settings().serving_modules
    assert "gateway" in served and "admin" in served
    assert {"events", "storage", "images", "audio", "jobs"} <= set(served)
