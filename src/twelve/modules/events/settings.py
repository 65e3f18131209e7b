"""The events module's settings (`TWELVE_EVENTS_*`): how webhooks are sent and retried."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from twelve.kernel.config_file import ConfigFileError, load_config_file

# Standard Webhooks' suggested schedule (Svix's): seconds after the previous attempt. Eight
# attempts over about a day and a quarter, then the delivery is dead.
DEFAULT_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


def _floats(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class EventsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_EVENTS_", extra="ignore")

    # Seconds to wait after each failed attempt; one more attempt than entries, then dead.
    retry_schedule: Annotated[list[float], NoDecode] = Field(
        default=list(DEFAULT_SCHEDULE), min_length=0, max_length=50
    )
    # One attempt, connect to last byte; the receiver's answer is read up to `max_response_bytes`.
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_response_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_payload_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # How often the sender looks for due deliveries (a new one is sent at once), and how many at
    # a time it sends.
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    concurrency: int = Field(default=16, ge=1, le=1024)
    # Networks a callback may reach although they are loopback or private (tests, an intranet):
    # comma-separated CIDRs, e.g. `127.0.0.0/8`. Empty: only public addresses.
    allow_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list
    )
    # How long the replaced secret still signs (beside the new one) after a rotation.
    rotation_grace_seconds: int = Field(default=86400, ge=0, le=30 * 86400)

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> object:
        return _floats(value)

    @field_validator("retry_schedule")
    @classmethod
    def _non_negative(cls, value: list[float]) -> list[float]:
        if any(not 0 <= seconds <= 7 * 86400 for seconds in value):
            raise ValueError("each wait must be between 0 and 604800 seconds")
        return value

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        parts = _floats(value)
        if isinstance(parts, list):
            return [ip_network(str(part), strict=False) for part in parts]
        return parts


def with_config_file(settings: EventsSettings, path: Path | None) -> EventsSettings:
    """`settings` plus the config file's `webhooks: {allow_networks: [...]}` (both lists count)."""
    section = load_config_file(path).get("webhooks") or {}
    if not isinstance(section, dict) or set(section) - {"allow_networks"}:
        raise ConfigFileError(f"config file {path}: `webhooks` takes only `allow_networks`")
    listed = section.get("allow_networks") or []
    if not isinstance(listed, list):
        raise ConfigFileError(f"config file {path}: `webhooks.allow_networks` must be a list")
    try:
        extra = EventsSettings.model_validate({"allow_networks": ",".join(map(str, listed))})
    except ValidationError:
        raise ConfigFileError(
            f"config file {path}: `webhooks.allow_networks` must list CIDRs (127.0.0.0/8)"
        ) from None
    networks = [*settings.allow_networks, *extra.allow_networks]
    return settings.model_copy(update={"allow_networks": networks})
