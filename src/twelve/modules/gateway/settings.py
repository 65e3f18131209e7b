"""The gateway's settings, read once at bootstrap (env prefix `TWELVE_GATEWAY_`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator
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
    health_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="How often routing reads the models module's active health checks.",
    )
    breaker_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="With Redis, how often other processes' breaker ejections are read again "
        "(they are also pushed through pub/sub as they happen).",
    )


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


class RateLimitSettings(BaseSettings):
    """Where the gateway counts rate limits: this process's memory, or Redis shared by every
    gateway process (`TWELVE_REDIS_URL`; empty is unset), which then shares breaker state too."""

    model_config = SettingsConfigDict(env_prefix="TWELVE_", extra="ignore")

    redis_url: str | None = Field(
        default=None,
        description="redis://[:password@]host[:port][/db], rediss://… or unix:///path?db=0",
    )
    rate_limit_slot_seconds: float = Field(
        default=900,
        gt=0,
        le=86400,
        description="With Redis, how long a concurrency slot is kept for a request that never "
        "gave it back (its process died); longer than any request.",
    )

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            return value
        parsed = urlsplit(value.strip())
        if parsed.scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        if parsed.scheme != "unix" and not parsed.hostname:
            raise ValueError("must name a host (redis://127.0.0.1:6379/0)")
        if parsed.scheme == "unix" and not parsed.path:
            raise ValueError("must name a socket path (unix:///run/redis.sock?db=0)")
        try:
            parsed.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        return value.strip()


class PromptCacheSettings(BaseSettings):
    """The prompt cache's store (env prefix `TWELVE_CACHE_`): which models cache, and for how
    long, is each model's `cache:` in the configuration file. With `TWELVE_REDIS_URL` the
    entries are in Redis, shared by every gateway process; else in this process's memory."""

    model_config = SettingsConfigDict(env_prefix="TWELVE_CACHE_", extra="ignore")

    memory_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024 * 1024,
        le=64 * 1024 * 1024 * 1024,
        description="The in-memory store's bound, in bytes (least recently used out first).",
    )
    redis_timeout_seconds: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="With Redis, a lookup slower than this is a miss (the cache fails open).",
    )


class FileUploadSettings(BaseSettings):
    """The bound of `POST /v1/files` bodies: the storage module's own file-size limit (the same
    variable, read here so the edge refuses an oversized upload before storage sees a byte)."""

    model_config = SettingsConfigDict(env_prefix="TWELVE_STORAGE_", extra="ignore")

    max_file_bytes: int = Field(default=512 * 1024 * 1024, ge=1, le=64 * 1024**3)
