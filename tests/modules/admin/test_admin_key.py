"""The admin key file: refused when it cannot be trusted, rotated atomically, picked up live."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from twelve.modules.admin.adapters.admin_key import (
    AdminKeyError,
    load_admin_key,
    rotate_admin_key,
)


def write_key(data_dir: Path, text: str, mode: int = 0o600) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "admin.key"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("text", "says"),
    [("", "is empty"), ("\n", "is empty"), ("twadmin-short\n", "only 13 characters")],
)
def test_an_empty_or_truncated_key_file_is_refused(tmp_path: Path, text: str, says: str) -> None:
    write_key(tmp_path, text)
    with pytest.raises(AdminKeyError) as refused:
        load_admin_key(None, tmp_path)
    assert says in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    write_key(tmp_path, "twadmin-" + "k" * 40, mode)
    with pytest.raises(AdminKeyError, match="chmod 600"):
        load_admin_key(None, tmp_path)


def test_a_good_key_file_is_used(tmp_path: Path) -> None:
    write_key(tmp_path, "twadmin-" + "k" * 40 + "\n")
    source = load_admin_key(None, tmp_path)
    assert source.origin == "file"
    assert source.matches("twadmin-" + "k" * 40) and not source.matches("twadmin-")


def test_rotation_writes_a_new_private_key_that_a_running_server_takes(tmp_path: Path) -> None:
    source = load_admin_key(None, tmp_path)  # generated on first start
    old = source.generated_key
    assert old is not None and source.matches(old)

    new, path = rotate_admin_key(tmp_path)
    assert new != old and len(new) >= 32
    assert path.read_text(encoding="utf-8").strip() == new
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["admin.key"]  # no temporary left behind
    assert source.matches(new) and not source.matches(old)  # no restart needed


def test_a_key_file_spoilt_while_serving_fails_closed(tmp_path: Path) -> None:
    key = "twadmin-" + "k" * 40
    path = write_key(tmp_path, key)
    source = load_admin_key(None, tmp_path)
    path.write_text("", encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    assert not source.matches(key) and not source.matches("")


def test_the_environment_key_needs_no_file(tmp_path: Path) -> None:
    source = load_admin_key("twadmin-" + "e" * 40, tmp_path)
    assert source.origin == "env" and source.matches("twadmin-" + "e" * 40)
    assert not (tmp_path / "admin.key").exists()
