"""The `cache:` key of a model in the configuration file: its prompt cache, checked here and
carried to the gateway (which keeps and serves the answers) as `CacheConfig` on the model's
routing configuration. Absent: the model has no cache.

```yaml
cache: {ttl_seconds: 600, max_entry_bytes: 1048576, cost_fraction: 0.0,
        semantic_model: embed, semantic_threshold: 0.95}
```
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twelve.modules.models.api import CacheConfig

# An answer larger than this is never worth keeping in memory per entry (and Redis refuses
# values past 512 MiB anyway).
_MAX_ENTRY_BYTES = 64 * 1024 * 1024


class CacheFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ttl_seconds: float = Field(
        default=600.0,
        gt=0,
        le=30 * 86400,
        allow_inf_nan=False,
        description="How long an answer is kept.",
    )
    max_entry_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=_MAX_ENTRY_BYTES,
        description="A larger answer is not cached.",
    )
    cost_fraction: float = Field(
        default=0.0,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="What a hit costs, as a share of the cached answer's cost.",
    )
    semantic_model: str | None = Field(
        default=None,
        min_length=1,
        description="A configured embeddings model: turns on the semantic cache.",
    )
    semantic_threshold: float | None = Field(
        default=None,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="Cosine similarity at or above which a semantic match is a hit.",
    )

    @model_validator(mode="after")
    def _semantic_pair(self) -> CacheFields:
        if (self.semantic_model is None) != (self.semantic_threshold is None):
            raise ValueError(
                "cache: semantic_model and semantic_threshold go together (set both or neither)"
            )
        return self

    def config(self) -> CacheConfig:
        return CacheConfig(**self.model_dump())
