"""The local models the sidecar serves, by their stable names, each loaded once on first use (or
at start with `TWELVE_SIDECAR_PRELOAD`) and each with its own bounded runner."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from twelve.sidecar.embedder import Embedder
from twelve.sidecar.runner import ModelRunner, Telemetry
from twelve.sidecar.settings import SidecarSettings

T = TypeVar("T")

# name -> what it does, for `GET /v1/models` (owned_by "twelve-local").
CATALOGUE = {
    "local-embed": "all-MiniLM-L6-v2 sentence embeddings, 384 dimensions",
    "local-classify": "zero-shot classification over local-embed",
    "local-summarize": "extractive summarisation (LexRank over local-embed)",
    "local-ocr": "Tesseract OCR of images and PDF pages (PDFium renders the pages)",
    "local-vision": "image labels (EfficientNet-Lite0), faces (OpenCV Haar), safety (open_nsfw)",
    "local-stt": "speech to text: Whisper tiny.en (CTranslate2 int8), English",
    "local-tts": "text to speech: flite, its built-in voices",
    "local-chat": "SmolLM2-135M-Instruct (Q4_1 GGUF) on llama.cpp: chat and text completions",
}


class LocalModels:
    def __init__(self, settings: SidecarSettings) -> None:
        self.telemetry = Telemetry()
        self._settings = settings
        self._embedder: Embedder | None = None
        self._loading = asyncio.Lock()
        self._runners: dict[str, ModelRunner] = {}

    def runner(self, name: str) -> ModelRunner:
        if name not in self._runners:
            self._runners[name] = ModelRunner(
                name,
                self.telemetry,
                concurrency=self._settings.concurrency,
                max_waiting=self._settings.max_waiting,
            )
        return self._runners[name]

    async def embedder(self) -> Embedder:
        if self._embedder is None:
            async with self._loading:
                if self._embedder is None:
                    self._embedder = await asyncio.to_thread(Embedder)
        return self._embedder

    async def run(self, name: str, work: Callable[[Embedder], T]) -> T:
        """Run `work` with the embedding model on `name`'s runner (its own bounded queue)."""
        embedder = await self.embedder()
        return await self.runner(name).run(lambda: work(embedder))

    async def preload(self) -> None:
        await self.embedder()

    def close(self) -> None:
        for runner in self._runners.values():
            runner.close()
