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


class CreditHoldSettings(BaseSettings):
    """The gateway's credit-hold stage (env prefix `TWELVE_CREDITS_`, as operators think of it)."""

    model_config = SettingsConfigDict(env_prefix="TWELVE_CREDITS_", extra="ignore")

    default_max_tokens: int = Field(
        default=4096,
        gt=0,
        description="Output tokens a request is held for when it sets no max_tokens and the "
        "model's output limit is unknown.",
    )
    hold_seconds: float = Field(
        default=900,
        gt=0,
        description="How long a hold lives; longer than any request. The credits sweeper settles "
        "expired holds (their process died) at the hold.",
    )
