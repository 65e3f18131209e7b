"""Process settings (env prefix `TWELVE_`), read once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MODULES = (
    "gateway", "chat", "completion", "embeddings", "images", "audio",
    "credits", "models", "jobs", "storage", "events", "admin",
)  # fmt: skip
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

    modules: str = Field(
        default="all", description="The modules this process serves: `all` or a comma list."
    )
    internal_key: SecretStr | None = Field(
        default=None,
        description="Shared by the processes of one deployment; enables the internal routes.",
    )
    # Where modules served by other processes are (their base URL); needed only when a module
    # this process serves depends on them.
    gateway_url: str | None = None
    chat_url: str | None = None
    completion_url: str | None = None
    embeddings_url: str | None = None
    credits_url: str | None = None
    models_url: str | None = None

    @field_validator("modules")
    @classmethod
    def _known_modules(cls, value: str) -> str:
        names = {m.strip() for m in value.split(",") if m.strip()}
        unknown = names - {"all", *MODULES}
        if unknown or not names:
            raise ValueError(f"unknown modules {sorted(unknown)}; choose from {', '.join(MODULES)}")
        return value

    @property
    def hosted_modules(self) -> frozenset[str]:
        names = {m.strip() for m in self.modules.split(",") if m.strip()}
        return frozenset(MODULES) if "all" in names else frozenset(names)

    def module_database_url(self, module: str) -> str | None:
        return self._str(f"{module}_database_url")

    def module_url(self, module: str) -> str | None:
        return self._str(f"{module}_url")

    def _str(self, name: str) -> str | None:
        value = getattr(self, name, None)
        return value if isinstance(value, str) else None
