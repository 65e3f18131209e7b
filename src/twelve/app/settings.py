"""Process settings (env prefix `TWELVE_`), read once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Modules that keep tables, and so have a database of their own.
MODULES_WITH_DATABASES = ("gateway", "credits")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    data_dir: Path = Path("data")
    config: Path | None = Field(default=None, description="The YAML configuration file.")
    admin_key: SecretStr | None = None
    log_level: str = "INFO"
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    database_url: str | None = Field(
        default=None,
        description="One PostgreSQL DSN for every module, each in a schema of its own.",
    )
    gateway_database_url: str | None = None
    credits_database_url: str | None = None

    def module_database_url(self, module: str) -> str | None:
        value = getattr(self, f"{module}_database_url", None)
        return value if isinstance(value, str) else None
