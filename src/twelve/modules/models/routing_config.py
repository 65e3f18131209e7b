"""The routing keys of a model in the configuration file: strategy, fallbacks, context window,
and its changes to the gateway's breaker and retry defaults.

The models module only checks and carries these (as `RoutingConfig` on every `DeploymentRef` of
the plan); the gateway, which sees every attempt, acts on them (`gateway/routing.py`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from twelve.modules.models.api import (
    BreakerOverrides,
    RetryOverrides,
    RoutingConfig,
    Strategy,
)
from twelve.modules.models.cache_config import CacheFields
from twelve.modules.models.health_config import HealthCheckConfig


class BreakerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    consecutive_failures: int | None = Field(default=None, ge=1, le=1000)
    error_rate: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)
    min_requests: int | None = Field(default=None, ge=1, le=100_000)
    window_seconds: float | None = Field(default=None, gt=0, le=3600, allow_inf_nan=False)
    base_ejection_seconds: float | None = Field(default=None, gt=0, le=3600, allow_inf_nan=False)
    max_ejection_seconds: float | None = Field(default=None, gt=0, le=86400, allow_inf_nan=False)


class RetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    retries: int | None = Field(default=None, ge=0, le=10)
    backoff_seconds: float | None = Field(default=None, ge=0, le=60, allow_inf_nan=False)
    backoff_max_seconds: float | None = Field(default=None, ge=0, le=60, allow_inf_nan=False)
    budget_ratio: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)


class RoutingFields(BaseModel):
    """The routing keys, mixed into a model's configuration."""

    name: str = Field(min_length=1, pattern=r"^\S+$", description="What clients ask for.")
    strategy: Strategy = "priority"
    fallbacks: list[str] = Field(default_factory=list, max_length=10)
    context_window_fallbacks: list[str] = Field(default_factory=list, max_length=10)
    content_filter_fallbacks: list[str] = Field(default_factory=list, max_length=10)
    context_window: int | None = Field(
        default=None, gt=0, description="Tokens (prompt and answer) the model takes."
    )
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    health_check: HealthCheckConfig = Field(default_factory=HealthCheckConfig)
    cache: CacheFields | None = Field(default=None, description="The model's prompt cache.")

    @field_validator("fallbacks", "context_window_fallbacks", "content_filter_fallbacks")
    @classmethod
    def _distinct(cls, names: list[str]) -> list[str]:
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"`{repeated[0]}` is listed more than once")
        return names

    def fallback_lists(self) -> dict[str, list[str]]:
        """Each fallback key and the models it names (checked against the configuration)."""
        lists = {
            "fallbacks": self.fallbacks,
            "context_window_fallbacks": self.context_window_fallbacks,
            "content_filter_fallbacks": self.content_filter_fallbacks,
        }
        for key, names in lists.items():
            if self.name in names:
                raise ValueError(f"model `{self.name}`: {key} names the model itself")
        return lists

    def routing(self) -> RoutingConfig:
        return RoutingConfig(
            strategy=self.strategy,
            fallbacks=tuple(self.fallbacks),
            context_window_fallbacks=tuple(self.context_window_fallbacks),
            content_filter_fallbacks=tuple(self.content_filter_fallbacks),
            breaker=BreakerOverrides(**self.breaker.model_dump()),
            retry=RetryOverrides(**self.retry.model_dump()),
            cache=self.cache.config() if self.cache is not None else None,
        )
