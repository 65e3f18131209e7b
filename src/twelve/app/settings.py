"""Process settings (env prefix `TWELVE_`), read once at start-up and checked before anything runs.

Every check that needs no I/O lives here as a validator, so a bad value is refused by name before
a socket is bound or a file is written (`settings_errors` turns the refusals into one line each).

Where each module is, when another process serves it (`TWELVE_<MODULE>_URL`), and its own database
(`TWELVE_<MODULE>_DATABASE_URL`, for a module that keeps tables) are settings of every module in
the catalogue, generated from the descriptors: no module is named here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, create_model, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from twelve.app.catalogue import CATALOGUE

MODULES = tuple(m.name for m in CATALOGUE)
# Modules that keep tables, and so have a database of their own.
MODULES_WITH_DATABASES = tuple(m.name for m in CATALOGUE if m.has_database)
# Modules that serve something today (routes or a port other modules call); the rest are names
# reserved for what comes next, and the start-up banner does not claim them.
SERVING_MODULES = tuple(m.name for m in CATALOGUE if m.serves)
# Shared secrets are random strings an operator generates; a short one can be guessed.
MIN_SECRET_LENGTH = 32

_POSTGRES_URL = re.compile(r"^postgres(ql)?(\+asyncpg)?://[^\s]+$")
_SQLITE_URL = re.compile(r"^sqlite(\+aiosqlite)?:///\S+$")


def _blank_is_unset(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _module_url(value: object) -> object:
    value = _blank_is_unset(value)
    if isinstance(value, str) and not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


def _module_database_url(value: object) -> object:
    value = _blank_is_unset(value)
    if isinstance(value, str) and not (_POSTGRES_URL.match(value) or _SQLITE_URL.match(value)):
        raise ValueError("must be a postgresql:// or sqlite:/// URL")
    return value


ModuleUrl = Annotated[str | None, BeforeValidator(_module_url)]
ModuleDatabaseUrl = Annotated[str | None, BeforeValidator(_module_database_url)]


class ProcessSettings(BaseSettings):
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
    # Connections each module's PostgreSQL pool keeps, and may open beyond that under load: a
    # process holds up to (size + overflow) x modules; size them against max_connections when
    # several processes (servers, workers) share one server.
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    db_max_overflow: int = Field(default=10, ge=0, le=1000)

    nats_url: str | None = Field(
        default=None,
        description="nats://host:4222: domain events go through NATS JetStream (else in process).",
    )
    modules: str = Field(
        default="all", description="The modules this process serves: `all` or a comma list."
    )
    internal_key: SecretStr | None = Field(
        default=None,
        description="Shared by the processes of one deployment; enables the internal routes.",
    )

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

    @field_validator("nats_url", mode="before")
    @classmethod
    def _nats_url(cls, value: object) -> object:
        value = _blank_is_unset(value)
        if isinstance(value, str) and not value.startswith(("nats://", "tls://")):
            raise ValueError("must be a nats:// or tls:// URL (nats://127.0.0.1:4222)")
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
        """`TWELVE_<MODULE>_DATABASE_URL`: the module's own database, if not the shared one."""
        return self._location(f"{module}_database_url")

    def module_url(self, module: str) -> str | None:
        """`TWELVE_<MODULE>_URL`: where the module is served, when not by this process."""
        return self._location(f"{module}_url")

    def _location(self, field: str) -> str | None:
        # The generated fields below; read through the model's own mapping of its fields.
        value = self.__dict__.get(field)
        return value if isinstance(value, str) else None


# Per module of the catalogue: where it is served (every module) and its database (a module with
# migrations). Fields, not a lookup of the environment, so a bad value is refused at start-up by
# its variable's name like any other setting.
_LOCATIONS: dict[str, Any] = {f"{m.name}_url": (ModuleUrl, None) for m in CATALOGUE} | {
    f"{m.name}_database_url": (ModuleDatabaseUrl, None) for m in CATALOGUE if m.has_database
}

if TYPE_CHECKING:
    Settings = ProcessSettings
else:
    Settings = create_model("Settings", __base__=ProcessSettings, __module__=__name__, **_LOCATIONS)
