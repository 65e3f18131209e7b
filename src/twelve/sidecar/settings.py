"""The sidecar's settings (`TWELVE_SIDECAR_*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8765  # the `local` provider's default base URL points here


class SidecarSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWELVE_SIDECAR_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    # Requests one model runs at once (each on a worker thread), and how many more may wait;
    # past that a request gets 503 with Retry-After rather than queueing without bound.
    concurrency: int = Field(default=1, ge=1, le=64)
    max_waiting: int = Field(default=32, ge=0, le=10_000)
    # Bounds on what a client may send.
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_inputs: int = Field(default=256, ge=1, le=4096)
    max_input_chars: int = Field(default=100_000, ge=1)
    # Speech (local-stt, local-tts): an upload's bytes (OpenAI's limit), the wait for it, the
    # length of audio decoded, the threads and time one transcription may use, and flite's binary
    # and time.
    max_audio_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    upload_timeout_seconds: float = Field(default=120, gt=0)
    max_audio_seconds: int = Field(default=600, ge=1)
    stt_threads: int = Field(default=1, ge=1, le=64)
    stt_timeout_seconds: float = Field(default=300, gt=0)
    flite: str = "flite"
    tts_timeout_seconds: float = Field(default=60, gt=0)
    # Load every model at start-up instead of on first use.
    preload: bool = False
    # Images and PDFs (local-ocr, local-vision): pixels decoded per image or rendered per PDF
    # page, PDF pages per request, the DPI pages are rendered at, Tesseract's time per request.
    max_image_pixels: int = Field(default=36_000_000, ge=10_000, le=200_000_000)
    ocr_max_pages: int = Field(default=20, ge=1, le=500)
    ocr_dpi: int = Field(default=200, ge=50, le=600)
    ocr_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    nsfw_threshold: float = Field(default=0.5, gt=0, le=1)  # local-vision: safe below this score
    cache_dir: Path = Path("data") / "cache"  # models built from installed wheels (never fetched)
    # local-chat (llama.cpp): its context window in tokens (prompt + answer), the answer's length
    # when a request names none and the most it may ask for, its CPU threads, and a wall-clock
    # bound on one generation (stopped with finish_reason "length" past it).
    chat_context: int = Field(default=2048, ge=256, le=8192)
    chat_default_max_tokens: int = Field(default=256, ge=1, le=8192)
    chat_max_tokens: int = Field(default=1024, ge=1, le=8192)
    chat_threads: int = Field(default=2, ge=1, le=64)
    chat_max_seconds: float = Field(default=120.0, gt=0, le=3600)
