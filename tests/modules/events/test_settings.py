from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest
from pydantic import ValidationError

from twelve.kernel.config_file import ConfigFileError
from twelve.modules.events.settings import EventsSettings, with_config_file


def test_the_environment_takes_a_schedule_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWELVE_EVENTS_RETRY_SCHEDULE", "1, 2.5,60")
    monkeypatch.setenv("TWELVE_EVENTS_ALLOW_NETWORKS", "127.0.0.0/8,::1/128")
    settings = EventsSettings()
    assert settings.retry_schedule == [1.0, 2.5, 60.0]
    assert settings.allow_networks == [ip_network("127.0.0.0/8"), ip_network("::1/128")]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TWELVE_EVENTS_RETRY_SCHEDULE", "1,-2"),
        ("TWELVE_EVENTS_RETRY_SCHEDULE", "soon"),
        ("TWELVE_EVENTS_ALLOW_NETWORKS", "10.0.0.0/33"),
        ("TWELVE_EVENTS_TIMEOUT_SECONDS", "0"),
    ],
)
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        EventsSettings()


def test_the_config_file_adds_networks(tmp_path: Path) -> None:
    config = tmp_path / "twelve.yaml"
    config.write_text("models: []\nwebhooks:\n  allow_networks: ['127.0.0.0/8']\n")
    settings = with_config_file(EventsSettings(), config)
    assert settings.allow_networks == [ip_network("127.0.0.0/8")]
    assert with_config_file(EventsSettings(), None).allow_networks == []


@pytest.mark.parametrize(
    "section",
    ["webhooks: [1]", "webhooks:\n  allow_networks: nope", "webhooks:\n  allow_networks: [x]",
     "webhooks:\n  retries: 3"],
)  # fmt: skip
def test_a_bad_webhooks_section_is_one_line(tmp_path: Path, section: str) -> None:
    config = tmp_path / "twelve.yaml"
    config.write_text(f"models: []\n{section}\n")
    with pytest.raises(ConfigFileError, match="webhooks"):
        with_config_file(EventsSettings(), config)
