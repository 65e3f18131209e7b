"""A module's refused setting is one line naming its variable."""

from __future__ import annotations

import pytest

from twelve.kernel.config_file import ConfigFileError
from twelve.kernel.env_settings import read_env_settings
from twelve.modules.storage.settings import StorageSettings


def test_a_refused_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWELVE_STORAGE_MAX_FILE_BYTES", "0")
    with pytest.raises(ConfigFileError, match=r"^TWELVE_STORAGE_MAX_FILE_BYTES: .*greater than"):
        read_env_settings(StorageSettings)


def test_s3_without_a_bucket_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWELVE_STORAGE_BACKEND", "s3")
    with pytest.raises(ConfigFileError, match="TWELVE_STORAGE_S3_BUCKET is required"):
        read_env_settings(StorageSettings)
    monkeypatch.setenv("TWELVE_STORAGE_S3_BUCKET", "files")
    assert read_env_settings(StorageSettings).s3_bucket == "files"
