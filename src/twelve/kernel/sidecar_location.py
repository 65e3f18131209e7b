"""Where the local inference sidecar is, as both `twelve serve` (which starts it) and the models
module (which lists its models) read it: `TWELVE_SIDECAR` (`auto`, the default, or `off`),
`TWELVE_SIDECAR_URL` (a sidecar run elsewhere: not started here), and the host and port a started
one listens on (`TWELVE_SIDECAR_HOST`, `TWELVE_SIDECAR_PORT`, the sidecar's own settings)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SIDECAR_PORT = 8765


class SidecarLocation(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_", extra="ignore")

    sidecar: Literal["auto", "off"] = "auto"
    sidecar_url: str | None = None
    sidecar_host: str = "127.0.0.1"
    sidecar_port: int = Field(default=DEFAULT_SIDECAR_PORT, ge=1, le=65535)

    @field_validator("sidecar", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("sidecar_url", mode="before")
    @classmethod
    def _url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().rstrip("/")
            if not value:
                return None
            if not value.startswith(("http://", "https://")):
                raise ValueError("must start with http:// or https://")
        return value

    @property
    def enabled(self) -> bool:
        return self.sidecar != "off"

    @property
    def supervised(self) -> bool:
        """`twelve serve` starts it: on, and not run elsewhere."""
        return self.enabled and self.sidecar_url is None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (`.../v1`) the `local` models are reached at."""
        if self.sidecar_url is not None:
            return (
                self.sidecar_url if self.sidecar_url.endswith("/v1") else self.sidecar_url + "/v1"
            )
        host = f"[{self.sidecar_host}]" if ":" in self.sidecar_host else self.sidecar_host
        return f"http://{host}:{self.sidecar_port}/v1"
