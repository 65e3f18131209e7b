"""The storage module's settings (`TWELVE_STORAGE_*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class StorageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_STORAGE_", extra="ignore")

    # OpenAI's own per-file limit (512 MB). Uploads stream to disk a chunk at a time, so the bound
    # is about disk, not memory; the gateway reads the same variable to size the route's body
    # limit (`TWELVE_MAX_BODY_BYTES` stays the bound of every other route).
    max_file_bytes: int = Field(default=512 * MIB, ge=1, le=64 * 1024 * MIB)
    # Where content-addressed blobs live; default `<data dir>/blobs`.
    blob_dir: Path | None = None
    # Uploads open at once (each holds a temp file); one more is a 429.
    max_open_uploads: int = Field(default=64, ge=1, le=10_000)
    # An upload not fed for this long is discarded (its client went away mid-upload).
    upload_idle_seconds: float = Field(default=300, gt=0)
