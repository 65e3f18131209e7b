"""Process settings (env prefix `TWELVE_`), read once at start-up and checked before anything runs.

Every check that needs no I/O lives here as a validator, so a bad value is refused by name before
a socket is bound or a file is written (`settings_errors` turns the refusals into one line each).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MODULES = (
    "gateway", "chat", "completion", "embeddings", "images", "audio",
    "credits", "models", "jobs", "storage", "events", "admin",
)  # fmt: skip
# Modules that keep tables, and so have a database of their own.
MODULES_WITH_DATABASES = ("gateway", "credits")
# Modules that serve something today (routes or a port other modules call); the rest are names
# reserved for what comes next, and the start-up banner does not claim them.
SERVING_MODULES = ("gateway", "chat", "completion", "embeddings", "credits", "models", "admin")
# Shared secrets are random strings an operator generates; a short one can be guessed.
MIN_SECRET_LENGTH = 32

_POSTGRES_URL = re.compile(r"^postgres(ql)?(\+asyncpg)?://[^\s]+$")
_SQLITE_URL = re.compile(r"^sqlite(\+aiosqlite)?:///\S+$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    data_dir: Path = Path("data")
    config: Path | None = Field(default=None, description="The YAML configuration file.")
    admin_key: SecretStr | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Limits on what a connection may do before it has proven anything (no key is checked yet).
    max_header_bytes: int = Field(default=32 * 1024, ge=1024, le=1024 * 1024)
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Time to receive a request's whole head."
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Longest gap between two chunks of a body."
    )
    keepalive_timeout_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How long an idle connection is kept open."
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="When set, GET /metrics needs `Authorization: Bearer <token>`."
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="When set, /metrics is served only on this port (on metrics_host).",
    )
    metrics_host: str = "127.0.0.1"
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

    @field_validator("admin_key", "internal_key", "metrics_token", mode="before")
    @classmethod
    def _secret(cls, value: object) -> object:
        # Compose files set a variable to "" whenever it is unset on the host: an empty secret
        # is no secret, never one that an empty header matches.
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str):
            if not raw.strip():
                return None
            if len(raw) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"must be at least {MIN_SECRET_LENGTH} characters (got {len(raw)}); "
                    "generate one with `openssl rand -hex 32`"
                )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not _POSTGRES_URL.match(value):
            raise ValueError("must be a PostgreSQL URL like postgresql://user:pass@host:5432/db")
        return value

    @field_validator("gateway_database_url", "credits_database_url")
    @classmethod
    def _module_database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not (_POSTGRES_URL.match(value) or _SQLITE_URL.match(value)):
            raise ValueError("must be a postgresql:// or sqlite:/// URL")
        return value

    @field_validator(
        "gateway_url", "chat_url", "completion_url", "embeddings_url", "credits_url", "models_url"
    )
    @classmethod
    def _module_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("modules")
    @classmethod
    def _known_modules(cls, value: str) -> str:
        names = {m.strip() for m in value.split(",") if m.strip()}
        if not names:
            raise ValueError(
                f"name at least one module, or `all`; choose from {', '.join(MODULES)}"
            )
        unknown = names - {"all", *MODULES}
        if unknown:
            raise ValueError(
                f"unknown modules {', '.join(sorted(unknown))}; choose from {', '.join(MODULES)}"
            )
        return value

    @property
    def hosted_modules(self) -> frozenset[str]:
        names = {m.strip() for m in self.modules.split(",") if m.strip()}
        return frozenset(MODULES) if "all" in names else frozenset(names)

    @property
    def serving_modules(self) -> list[str]:
        """The hosted modules that really serve something, for the start-up banner."""
        return [m for m in SERVING_MODULES if m in self.hosted_modules]

    def module_database_url(self, module: str) -> str | None:
        return self._str(f"{module}_database_url")

    def module_url(self, module: str) -> str | None:
        return self._str(f"{module}_url")

    def _str(self, name: str) -> str | None:
        value = getattr(self, name, None)
        return value if isinstance(value, str) else None
