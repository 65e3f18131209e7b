"""The images module's settings (`TWELVE_IMAGES_*`): how large an input may be, and where a
customer's image URL may be fetched from."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ImagesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_IMAGES_", extra="ignore")

    # An input image or document, decoded (OpenAI's vision limit is 20 MB).
    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024)
    # Width times height: a small file can declare a huge canvas (a decompression bomb).
    max_pixels: int = Field(default=50_000_000, ge=1, le=1_000_000_000)
    # A URL fetch, connect to last byte.
    fetch_seconds: float = Field(default=10.0, gt=0, le=120)
    # Networks an image URL may reach although they are loopback or private (tests, an
    # intranet): comma-separated CIDRs. Empty: only public addresses.
    allow_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list
    )

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip()]
        return value
