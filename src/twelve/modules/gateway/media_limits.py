"""The body bounds of the routes that carry an image or audio: larger than the process's JSON
bound (`TWELVE_MAX_BODY_BYTES`), each sized to its module's own input limit, read from the same
environment (`TWELVE_IMAGES_MAX_BYTES`, `TWELVE_AUDIO_MAX_BYTES`) as the module's settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from twelve.kernel.env_settings import read_env_settings
from twelve.kernel.rpc import encoded_body_bytes
from twelve.modules.gateway.files_routes import upload_body_limit

PREFIX = "/v1"


class _ImageBytes(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_IMAGES_", extra="ignore")

    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)


class _AudioBytes(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_AUDIO_", extra="ignore")

    max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)


def media_body_limits() -> dict[tuple[str, str], int]:
    as_base64 = encoded_body_bytes(read_env_settings(_ImageBytes).max_bytes)
    audio = upload_body_limit(read_env_settings(_AudioBytes).max_bytes)
    return {
        ("POST", f"{PREFIX}/images/analyses"): as_base64,
        ("POST", f"{PREFIX}/ocr"): as_base64,
        ("POST", f"{PREFIX}/audio/transcriptions"): audio,
    }
