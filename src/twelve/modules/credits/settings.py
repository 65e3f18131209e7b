"""The credits module's settings (`TWELVE_CREDITS_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CreditsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_CREDITS_", extra="ignore")

    # How often expired holds (their process died) are settled at the hold. How long a hold lives
    # is the gateway's to say when it places one (`TWELVE_CREDITS_HOLD_SECONDS`).
    sweep_interval_seconds: float = Field(default=30, gt=0)
