from __future__ import annotations

from pathlib import Path

import pytest

from twelve.kernel.config_file import ConfigFileError, load_config_file


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "twelve.yaml"
    path.write_text(text)
    return path


def test_interpolates_environment_variables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "models:\n  - name: m\n    deployments:\n"
        "      - {api_key: '${KEY}', base_url: '${BASE:-http://default/v1}', model: x}\n",
    )
    config = load_config_file(path, {"KEY": "sk-1"})
    deployment = config["models"][0]["deployments"][0]
    assert deployment == {"api_key": "sk-1", "base_url": "http://default/v1", "model": "x"}


def test_a_missing_variable_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="UPSTREAM_KEY is not set"):
        load_config_file(write(tmp_path, "a: ${UPSTREAM_KEY}\n"), {})


@pytest.mark.parametrize(
    ("text", "message"),
    [("- just\n- a list\n", "mapping"), ("a: [unclosed\n", "not valid YAML")],
)
def test_bad_files_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigFileError, match=message):
        load_config_file(write(tmp_path, text), {})


def test_no_file_is_an_empty_config(tmp_path: Path) -> None:
    assert load_config_file(None) == {}
    assert load_config_file(write(tmp_path, "")) == {}
    with pytest.raises(ConfigFileError, match="does not exist"):
        load_config_file(tmp_path / "missing.yaml")
