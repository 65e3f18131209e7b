"""The credits module's settings (`TWELVE_CREDITS_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CreditsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_CREDITS_", extra="ignore")

    default_max_tokens: int = Field(
        default=4096,
        gt=0,
        description="Output tokens a request is held for when it sets no max_tokens.",
    )
    hold_seconds: float = Field(
        default=900,
        gt=0,
        description="How long a hold lives; longer than any request. The sweeper settles "
        "expired holds (their process died) at the hold.",
    )
    sweep_interval_seconds: float = Field(default=30, gt=0)
