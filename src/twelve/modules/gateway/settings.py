"""The gateway's settings, read once at bootstrap (env prefix `TWELVE_GATEWAY_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_GATEWAY_", extra="ignore")

    retries: int = Field(default=1, ge=0, le=10, description="Retries per deployment.")
    retry_backoff_seconds: float = Field(default=0.1, ge=0, description="First backoff; doubles.")
    retry_backoff_max_seconds: float = Field(default=2.0, ge=0)
    retry_after_max_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="An upstream Retry-After up to this long is waited; a longer one moves on "
        "to the next deployment.",
    )
    deadline_seconds: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        description="Overall time for one request's retries and fallbacks, up to its first byte.",
    )
    key_cache_seconds: float = Field(default=1.0, gt=0, le=60)
