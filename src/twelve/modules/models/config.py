"""The `models:` section of the configuration file: the models clients may ask for.

Each model is a name clients use and one or more deployments (a provider, its base URL, key and
the upstream's model id), and how the gateway routes over them (`routing_config.py`).
Environment variables are already interpolated when this schema sees the section. Every
deployment gets a stable id (see `deployment_ids`), used in `x-twelve-deployment`,
metric labels and error messages.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from twelve.modules.models.adapters.endpoint import DEFAULT_MAX_RESPONSE_BYTES
from twelve.modules.models.adapters.forwarding import DEFAULT_ALLOWED, POLICED_FIELDS
from twelve.modules.models.adapters.provider import Provider
from twelve.modules.models.adapters.providers import PROVIDERS
from twelve.modules.models.api import TEXT_CAPABILITIES, Capability
from twelve.modules.models.routing_config import RoutingFields


class DeploymentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(
        default=None,
        min_length=1,
        pattern=r"^\S+$",
        description="The deployment's id, unique in the whole configuration. Default: derived.",
    )
    provider: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str = Field(min_length=1, description="The upstream's model id.")
    timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds: the whole call when not streaming; the default of the stream "
        "deadlines below.",
    )
    first_token_timeout: float | None = Field(
        default=None, gt=0, description="Seconds from the request to the first data event."
    )
    idle_timeout: float | None = Field(
        default=None, gt=0, description="Longest gap between two data events of a stream."
    )
    connect_timeout: float | None = Field(
        default=None, gt=0, description="Seconds to connect. Default: min(10, timeout)."
    )
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, gt=0)
    retry_on_timeout: bool = Field(
        default=True, description="Whether a timed-out call may be sent again (it may be billed)."
    )
    headers: dict[str, str] = Field(default_factory=dict)
    input_cost_per_mtok: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="USD per 1M input tokens."
    )
    output_cost_per_mtok: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="USD per 1M output tokens."
    )
    cost_per_image: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="USD per image made or read."
    )
    cost_per_second: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="USD per second of audio."
    )
    cost_per_character: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="USD per character spoken."
    )
    free: bool = Field(default=False, description="Free on purpose: no price, no warning.")
    priority: int = Field(default=0, ge=0, le=1000, description="Lower is tried first.")
    weight: float = Field(
        default=1.0, gt=0, le=1_000_000, allow_inf_nan=False, description="`weighted` share."
    )
    context_window: int | None = Field(
        default=None, gt=0, description="Tokens this upstream model takes (default: the model's)."
    )

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in PROVIDERS:
            known = ", ".join(sorted(PROVIDERS))
            raise ValueError(f"unknown provider `{value}`; known providers are: {known}")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url `{value}` must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _has_base_url(self) -> DeploymentConfig:
        if self.base_url is None and self.spec.default_base_url is None:
            raise ValueError(f"provider `{self.provider}` has no default base_url: set one")
        return self

    @property
    def spec(self) -> Provider:
        return PROVIDERS[self.provider]

    @property
    def url(self) -> str:
        """The base URL to call: the configured one, or the provider's default."""
        url = self.base_url or self.spec.default_base_url
        assert url is not None  # guaranteed by _has_base_url
        return url


class ModelConfig(RoutingFields):
    model_config = ConfigDict(extra="forbid", frozen=True)

    owned_by: str = "twelve"
    capabilities: frozenset[Capability] | None = Field(
        default=None,
        min_length=1,
        description="Default: the text capabilities (chat, completions, embeddings) that every "
        "deployment's provider supports; audio, images and the rest are listed explicitly.",
    )
    allow_fields: frozenset[str] = Field(
        default=DEFAULT_ALLOWED,
        description="Which request fields that bill or store on the operator's upstream account "
        "are forwarded.",
    )
    deployments: list[DeploymentConfig] = Field(min_length=1)

    @field_validator("allow_fields")
    @classmethod
    def _policed(cls, fields: frozenset[str]) -> frozenset[str]:
        unknown = fields - POLICED_FIELDS
        if unknown:
            raise ValueError(
                f"allow_fields: {', '.join(sorted(unknown))} not policed; "
                f"the policed fields are {', '.join(sorted(POLICED_FIELDS))}"
            )
        return fields

    @model_validator(mode="after")
    def _deployments_serve_capabilities(self) -> ModelConfig:
        if self.capabilities is None:
            if not self.supported:
                raise ValueError(
                    f"model `{self.name}`: its deployments' providers have no capability in common"
                )
            return self
        for deployment in self.deployments:
            missing = self.capabilities - deployment.spec.capabilities
            if missing:
                raise ValueError(
                    f"model `{self.name}`: provider `{deployment.provider}` does not support "
                    f"{', '.join(sorted(missing))}"
                )
        return self

    @model_validator(mode="after")
    def _distinct_deployments(self) -> ModelConfig:
        self.deployment_ids()  # raises on identical unnamed deployments
        return self

    @property
    def supported(self) -> frozenset[Capability]:
        """The text capabilities every deployment's provider supports (the default)."""
        common = self.deployments[0].spec.capabilities & TEXT_CAPABILITIES
        for deployment in self.deployments[1:]:
            common &= deployment.spec.capabilities
        return common

    @property
    def effective_capabilities(self) -> frozenset[Capability]:
        return self.capabilities if self.capabilities is not None else self.supported

    def deployment_ids(self) -> list[str]:
        """Each deployment's id, in order: its `name`, else `<model>/<provider>/<upstream model>`.

        The derived id depends on the deployment's own fields and on its siblings, never on its
        position, so reordering the file keeps every id. Two deployments on one provider and
        upstream model are told apart by a short hash of their base URL (never the URL itself:
        ids reach clients); two that are identical need a `name`.
        """
        derived = [f"{self.name}/{d.provider}/{d.model}" for d in self.deployments]
        unnamed = Counter(
            base for base, d in zip(derived, self.deployments, strict=True) if d.name is None
        )
        ids: list[str] = []
        for base, deployment in zip(derived, self.deployments, strict=True):
            if deployment.name is not None:
                ids.append(deployment.name)
            elif unnamed[base] > 1:
                ids.append(f"{base}@{hashlib.sha256(deployment.url.encode()).hexdigest()[:8]}")
            else:
                ids.append(base)
        repeated = [i for i, n in Counter(ids).items() if n > 1]
        if repeated:
            raise ValueError(
                f"model `{self.name}`: two deployments would both have the id `{repeated[0]}` "
                "(same provider, base_url and model): give each a distinct `name`"
            )
        return ids


class ModelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[ModelConfig] = Field(default_factory=list)

    @field_validator("models")
    @classmethod
    def _unique_names(cls, models: list[ModelConfig]) -> list[ModelConfig]:
        seen: set[str] = set()
        for model in models:
            if model.name in seen:
                raise ValueError(f"model name `{model.name}` is configured more than once")
            seen.add(model.name)
        ids = Counter(i for model in models for i in model.deployment_ids())
        repeated = sorted(i for i, n in ids.items() if n > 1)
        if repeated:
            raise ValueError(
                f"deployment id `{repeated[0]}` is used more than once: deployment names must be "
                "unique across the whole configuration"
            )
        for model in models:
            for key, targets in model.fallback_lists().items():
                for target in targets:
                    if target not in seen:
                        raise ValueError(
                            f"model `{model.name}`: {key} names `{target}`, which is not a "
                            "configured model"
                        )
        _check_semantic_models(models)
        return models


def _check_semantic_models(models: list[ModelConfig]) -> None:
    """A semantic cache's embedding model must be a configured model that serves embeddings."""
    by_name = {model.name: model for model in models}
    for model in models:
        semantic = model.cache.semantic_model if model.cache is not None else None
        if semantic is None:
            continue
        target = by_name.get(semantic)
        if target is None:
            raise ValueError(
                f"model `{model.name}`: cache.semantic_model names `{semantic}`, which is not a "
                "configured model"
            )
        if "embeddings" not in target.effective_capabilities:
            raise ValueError(
                f"model `{model.name}`: cache.semantic_model `{semantic}` does not serve embeddings"
            )
