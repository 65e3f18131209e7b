"""The `health_check:` key of a model in the configuration file: how often and how its
deployments are actively checked (`health_checker.py` runs the checks).

Every key has a default, so a model without the section is checked: `GET <base_url>/models` on
OpenAI-compatible upstreams (the provider's cheap call; none for providers that have none), every
30 s, 5 s at most, ejected after 2 failed checks in a row and back after 1 healthy one (Envoy's
`unhealthy_threshold` and `healthy_threshold`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class HealthCheckConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Whether the model's deployments are checked.")
    interval_seconds: float = Field(
        default=30.0, ge=1, le=3600, allow_inf_nan=False, description="Seconds between checks."
    )
    timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, allow_inf_nan=False, description="Seconds one check may take."
    )
    path: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._~/-]+$",
        description="Relative to the deployment's base URL. Default: the provider's cheap call "
        "(`models` for OpenAI-compatible and Anthropic upstreams).",
    )
    unhealthy_threshold: int = Field(
        default=2, ge=1, le=100, description="Failed checks in a row that mark it unhealthy."
    )
    healthy_threshold: int = Field(
        default=1, ge=1, le=100, description="Healthy checks in a row that mark it healthy again."
    )

    @field_validator("path")
    @classmethod
    def _below_base_url(cls, path: str | None) -> str | None:
        if path is not None and ".." in path.split("/"):
            raise ValueError("must stay below the deployment's base_url (no `..`)")
        return path
