"""The `models:` section of the configuration file: the models clients may ask for.

Each model is a name clients use and one or more deployments (a provider, its base URL, key and
the upstream's model id), tried in the order written. Environment variables are already
interpolated when this schema sees the section.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from twelve.modules.models.adapters.provider import Provider
from twelve.modules.models.adapters.providers import PROVIDERS
from twelve.modules.models.api import Capability


class DeploymentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str = Field(min_length=1, description="The upstream's model id.")
    timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds: the whole call when not streaming; connect + first byte, and "
        "each gap between chunks, when streaming.",
    )
    headers: dict[str, str] = Field(default_factory=dict)

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


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^\S+$", description="What clients ask for.")
    owned_by: str = "twelve"
    capabilities: frozenset[Capability] | None = Field(
        default=None,
        min_length=1,
        description="Default: what every deployment's provider supports.",
    )
    deployments: list[DeploymentConfig] = Field(min_length=1)

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

    @property
    def supported(self) -> frozenset[Capability]:
        """What every deployment's provider supports."""
        common = self.deployments[0].spec.capabilities
        for deployment in self.deployments[1:]:
            common &= deployment.spec.capabilities
        return common

    @property
    def effective_capabilities(self) -> frozenset[Capability]:
        return self.capabilities if self.capabilities is not None else self.supported


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
        return models
