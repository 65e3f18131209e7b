"""The audio module's settings (`TWELVE_AUDIO_*`): how large an upload may be."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AudioSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_AUDIO_", extra="ignore")

    # An upload to transcribe (OpenAI's limit is 25 MB); the route's body bound follows it.
    max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024)
    # The longest WAV upload, in seconds (other containers: the model server's bound).
    max_seconds: float = Field(default=3600.0, gt=0, le=24 * 3600)
