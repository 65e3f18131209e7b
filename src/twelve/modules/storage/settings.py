"""The storage module's settings (`TWELVE_STORAGE_*`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class StorageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_STORAGE_", extra="ignore")

    # OpenAI's own per-file limit (512 MB). Uploads stream to disk a chunk at a time, so the bound
    # is about disk, not memory; the gateway reads the same variable to size the route's body
    # limit (`TWELVE_MAX_BODY_BYTES` stays the bound of every other route).
    max_file_bytes: int = Field(default=512 * MIB, ge=1, le=64 * 1024 * MIB)
    # Where content-addressed blobs live (`local`), and uploads in progress with either backend;
    # default `<data dir>/blobs`.
    blob_dir: Path | None = None
    # `s3`: blobs in an S3-compatible bucket (which must exist). Without keys, the standard AWS
    # credential chain (environment, profile, instance role) applies.
    backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = Field(default=None, min_length=3, max_length=63)
    s3_prefix: str = Field(default="", max_length=200)
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # Uploads open at once (each holds a temp file); one more is a 429.
    max_open_uploads: int = Field(default=64, ge=1, le=10_000)
    # An upload not fed for this long is discarded (its client went away mid-upload).
    upload_idle_seconds: float = Field(default=300, gt=0)

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> StorageSettings:
        if self.backend == "s3" and not self.s3_bucket:
            raise ValueError("TWELVE_STORAGE_S3_BUCKET is required with TWELVE_STORAGE_BACKEND=s3")
        return self
