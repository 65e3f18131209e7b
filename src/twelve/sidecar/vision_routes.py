"""The sidecar's image routes: `POST /v1/ocr` (local-ocr) and `POST /v1/images/analyses`
(local-vision: labels, faces, a safety score), in the shapes of the sidecar's contract.

Each model is loaded once, on first use (or at start with `TWELVE_SIDECAR_PRELOAD`), and all the
work of a request, decoding included, runs on that model's bounded runner: only `concurrency`
images are decoded at once, and a queue past `max_waiting` is a 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from twelve.sidecar.faces import FaceFinder
from twelve.sidecar.image_input import RejectedInput, Upload, decode_upload, open_image
from twelve.sidecar.image_labels import Labeller
from twelve.sidecar.image_safety import SafetyScorer
from twelve.sidecar.missing import MissingModel
from twelve.sidecar.models import LocalModels
from twelve.sidecar.ocr import OcrLimits, Reader
from twelve.sidecar.settings import SidecarSettings

T = TypeVar("T")
Answer = dict[str, Any]
ErrorResponse = Callable[..., JSONResponse]  # app.error: (status, message, *, param, code)
log = logging.getLogger(__name__)


class OcrRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = "local-ocr"
    file: str
    filename: str | None = Field(default=None, max_length=1024)  # informative only
    pages: list[Annotated[int, Field(ge=1)]] | None = Field(default=None, min_length=1)


class AnalysisRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = "local-vision"
    image: str
    top_k: int = Field(default=5, ge=1, le=50)


class _Lazy(Generic[T]):
    """A model made on first use, once, whichever worker thread asks first."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._make()
            return self._value


def vision_router(
    models: LocalModels, settings: SidecarSettings, error: ErrorResponse
) -> APIRouter:
    reader = _Lazy(Reader)
    labeller = _Lazy(lambda: Labeller(settings.cache_dir))
    finder = _Lazy(FaceFinder)
    scorer = _Lazy(lambda: SafetyScorer(settings.nsfw_threshold))
    limits = OcrLimits(
        max_pixels=settings.max_image_pixels,
        max_pages=settings.ocr_max_pages,
        dpi=settings.ocr_dpi,
        timeout_seconds=settings.ocr_timeout_seconds,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.preload:
            for lazy in (reader, labeller, finder, scorer):
                try:
                    await asyncio.to_thread(lazy.get)
                except MissingModel as exc:
                    log.warning("not preloaded: %s", exc)
        yield

    router = APIRouter(lifespan=lifespan)

    async def served(
        model: str, wanted: str, encoded: str, param: str, work: Callable[[Upload], Answer]
    ) -> JSONResponse | Answer:
        """`work` on the decoded upload, on `wanted`'s runner; a refusal as an OpenAI error."""
        if model != wanted:
            return error(404, f"The model {model!r} does not exist here; use {wanted!r}.",
                         param="model", code="model_not_found")  # fmt: skip
        try:
            upload = decode_upload(encoded, param=param)
            return await models.runner(wanted).run(lambda: work(upload))
        except RejectedInput as exc:
            return error(exc.status, str(exc), param=exc.param)

    def read(upload: Upload, wanted_pages: list[int] | None) -> Answer:
        pages = reader.get().read(upload, wanted_pages, limits)
        return {
            "object": "ocr",
            "model": "local-ocr",
            "text": "\n\n".join(page.text for page in pages),
            "pages": [{"page": page.page, "text": page.text} for page in pages],
            "usage": {"images": len(pages)},
        }

    def analyse(upload: Upload, top_k: int) -> Answer:
        image = open_image(upload, max_pixels=settings.max_image_pixels, param="image")
        safety = scorer.get().score(image)
        return {
            "object": "image.analysis",
            "model": "local-vision",
            "labels": [asdict(label) for label in labeller.get().labels(image, top_k)],
            "faces": [asdict(face) for face in finder.get().faces(image)],
            "safety": {"nsfw_score": safety.nsfw_score, "safe": safety.safe},
            "width": image.width,
            "height": image.height,
            "usage": {"images": 1},
        }

    @router.post("/v1/ocr", response_model=None)
    async def ocr(body: OcrRequest) -> JSONResponse | Answer:
        work = functools.partial(read, wanted_pages=body.pages)
        return await served(body.model, "local-ocr", body.file, "file", work)

    @router.post("/v1/images/analyses", response_model=None)
    async def analyses(body: AnalysisRequest) -> JSONResponse | Answer:
        work = functools.partial(analyse, top_k=body.top_k)
        return await served(body.model, "local-vision", body.image, "image", work)

    return router
