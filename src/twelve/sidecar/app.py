"""The sidecar's HTTP API: OpenAI's shape where OpenAI has the endpoint, small documented ones
where it has none. Errors are OpenAI's error body; a body is bounded in size, inputs in count and
length; a busy model answers 503 with Retry-After."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from twelve.sidecar.chat_routes import chat_router
from twelve.sidecar.missing import MissingModel
from twelve.sidecar.models import CATALOGUE, LocalModels
from twelve.sidecar.runner import Overloaded
from twelve.sidecar.settings import SidecarSettings
from twelve.sidecar.speech_routes import TRANSCRIPTIONS, speech_router
from twelve.sidecar.text_tasks import classify, summarize
from twelve.sidecar.vision_routes import vision_router

Text = Annotated[str, Field(min_length=1)]


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str
    input: Text | list[Text] = Field(min_length=1)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = "local-classify"
    input: Text
    labels: list[Text] | dict[str, str] = Field(min_length=2, max_length=100)


class SummarizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = "local-summarize"
    input: Text
    sentences: int = Field(default=3, ge=1, le=50)


def error(status: int, message: str, *, param: str | None = None, code: str | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:  # fmt: skip
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(settings: SidecarSettings | None = None) -> FastAPI:
    settings = settings or SidecarSettings()
    models = LocalModels(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.preload:
            await models.preload()
        yield
        models.close()

    app = FastAPI(title="Twelve local inference sidecar", lifespan=lifespan, docs_url=None)
    app.include_router(vision_router(models, settings, error))

    @app.middleware("http")
    async def bounded_body(request: Request, call_next: Any) -> Response:
        length = request.headers.get("content-length")
        audio = request.url.path == TRANSCRIPTIONS  # an upload: bounded by its own setting
        limit = settings.max_audio_bytes if audio else settings.max_body_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            return error(413, f"The body is over {limit} bytes.")
        response: Response = await call_next(request)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        location = first.get("loc", ())
        where = str(location[1]) if len(location) > 1 else None
        return error(400, f"Invalid request: {first.get('msg', 'bad value')}.", param=where)

    @app.exception_handler(Overloaded)
    async def busy(_request: Request, exc: Overloaded) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return error(503, str(exc), code="model_overloaded", headers=headers)

    @app.exception_handler(MissingModel)
    async def missing(_request: Request, exc: MissingModel) -> JSONResponse:
        return error(503, str(exc), code="model_not_installed")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(models.telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "twelve-local"}
            for name in CATALOGUE
        ]
        return {"object": "list", "data": data}

    def unknown(model: str, wanted: str) -> JSONResponse | None:
        if model != wanted:
            return error(404, f"The model {model!r} does not exist here; use {wanted!r}.",
                         param="model", code="model_not_found")  # fmt: skip
        return None

    def too_long(texts: list[str]) -> JSONResponse | None:
        if len(texts) > settings.max_inputs:
            return error(400, f"At most {settings.max_inputs} inputs.", param="input")
        if any(len(t) > settings.max_input_chars for t in texts):
            return error(400, f"An input is over {settings.max_input_chars} characters.",
                         param="input")  # fmt: skip
        return None

    @app.post("/v1/embeddings", response_model=None)
    async def embeddings(body: EmbeddingsRequest) -> JSONResponse | dict[str, Any]:
        texts = [body.input] if isinstance(body.input, str) else body.input
        refused = unknown(body.model, "local-embed") or too_long(texts)
        if refused is not None:
            return refused
        if body.dimensions not in (None, 384):
            return error(400, "local-embed has 384 dimensions.", param="dimensions")
        vectors, tokens = await models.run("local-embed", lambda e: e.embed(texts))
        data = []
        for index, vector in enumerate(vectors):
            as_floats = vector.astype(np.float32)
            value: Any = (
                base64.b64encode(as_floats.tobytes()).decode()
                if body.encoding_format == "base64"
                else [float(x) for x in as_floats]
            )
            data.append({"object": "embedding", "index": index, "embedding": value})
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {"object": "list", "data": data, "model": "local-embed", "usage": usage}

    @app.post("/v1/classifications", response_model=None)
    async def classifications(body: ClassifyRequest) -> JSONResponse | dict[str, Any]:
        labels = body.labels if isinstance(body.labels, dict) else {n: n for n in body.labels}
        refused = unknown(body.model, "local-classify") or too_long([body.input, *labels.values()])
        if refused is not None:
            return refused
        if len(labels) < 2:
            return error(400, "Give at least two distinct labels.", param="labels")
        scored, tokens = await models.run(
            "local-classify", lambda e: classify(e, body.input, labels)
        )
        return {
            "object": "classification",
            "model": "local-classify",
            "label": scored[0].label,
            "scores": [{"label": s.label, "score": s.score} for s in scored],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    @app.post("/v1/summaries", response_model=None)
    async def summaries(body: SummarizeRequest) -> JSONResponse | dict[str, Any]:
        refused = unknown(body.model, "local-summarize") or too_long([body.input])
        if refused is not None:
            return refused
        picked, tokens = await models.run(
            "local-summarize", lambda e: summarize(e, body.input, body.sentences)
        )
        return {
            "object": "summary",
            "model": "local-summarize",
            "summary": " ".join(picked),
            "sentences": picked,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    app.include_router(speech_router(settings, models, error))
    app.include_router(chat_router(settings, models.telemetry, error))
    return app
