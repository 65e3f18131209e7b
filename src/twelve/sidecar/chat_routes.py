"""`local-chat`'s endpoints: POST /v1/chat/completions and POST /v1/completions in OpenAI's shapes,
as one JSON answer or, with `stream: true`, as server-sent events ending in `data: [DONE]` (with
a last chunk holding the usage when `stream_options.include_usage` asks for it).

The model loads once, on first use or at start (`TWELVE_SIDECAR_PRELOAD`). Generation runs on the
model's own runner (one at a time, a bounded queue, 503 with Retry-After past it) on a worker
thread; pieces reach the event loop through a `PieceStream`, and a client that hangs up stops
the generation at its next token.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from twelve.sidecar.chat_model import MODEL, ChatModel, Generation, PromptTooLong, Sampling
from twelve.sidecar.chat_requests import (
    ChatRequest,
    CompletionRequest,
    GenerationOptions,
    Unsupported,
)
from twelve.sidecar.chat_shapes import Shape, chat_shape, text_shape
from twelve.sidecar.chat_stream import PieceStream
from twelve.sidecar.runner import ModelRunner, Telemetry
from twelve.sidecar.settings import SidecarSettings

ErrorResponse = Callable[..., JSONResponse]
log = logging.getLogger("twelve.sidecar.chat")


class LocalChat:
    """The model, loaded once, and its runner: one slot, since a llama.cpp context must not run
    two generations at once."""

    def __init__(self, settings: SidecarSettings, telemetry: Telemetry) -> None:
        self._settings = settings
        self._model: ChatModel | None = None
        self._loading = asyncio.Lock()
        self.runner = ModelRunner(MODEL, telemetry, concurrency=1, max_waiting=settings.max_waiting)

    async def model(self) -> ChatModel:
        if self._model is None:
            async with self._loading:
                if self._model is None:
                    self._model = await asyncio.to_thread(
                        ChatModel,
                        context=self._settings.chat_context,
                        threads=self._settings.chat_threads,
                        max_seconds=self._settings.chat_max_seconds,
                    )
        return self._model

    def close(self) -> None:
        self.runner.close()
        if self._model is not None:
            self._model.close()


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def chat_router(settings: SidecarSettings, telemetry: Telemetry, error: ErrorResponse) -> APIRouter:
    chat = LocalChat(settings, telemetry)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.preload:
            await chat.model()
        yield
        chat.close()

    router = APIRouter(lifespan=lifespan)

    def refused(body: GenerationOptions, texts: list[str]) -> JSONResponse | None:
        if body.model != MODEL:
            return error(404, f"The model {body.model!r} does not exist here; use {MODEL!r}.",
                         param="model", code="model_not_found")  # fmt: skip
        requested = body.requested_tokens()
        if requested is not None and requested > settings.chat_max_tokens:
            return error(400, f"{MODEL} writes at most {settings.chat_max_tokens} tokens.",
                         param="max_tokens")  # fmt: skip
        if sum(len(t) for t in texts) > settings.max_input_chars:
            where = "messages" if isinstance(body, ChatRequest) else "prompt"
            return error(400, f"The prompt is over {settings.max_input_chars} characters.",
                         param=where)  # fmt: skip
        return None

    def max_tokens(body: GenerationOptions) -> int:
        return body.requested_tokens() or settings.chat_default_max_tokens

    @router.post("/v1/chat/completions", response_model=None)
    async def chat_completions(body: ChatRequest, request: Request) -> Response:
        try:
            messages = body.conversation()
            if no := refused(body, [m["content"] for m in messages]):
                return no
            sampling = body.sampling(max_tokens(body))
            model = await chat.model()
            prompt, template_stops = model.chat_prompt(messages)
            model.room(prompt)
        except Unsupported as exc:
            return error(400, str(exc), param=exc.param)
        except PromptTooLong as exc:
            return error(400, str(exc), param="messages", code="context_length_exceeded")
        return await answer(request, body, chat_shape, model, prompt, sampling, template_stops)

    @router.post("/v1/completions", response_model=None)
    async def completions(body: CompletionRequest, request: Request) -> Response:
        try:
            text = body.text()
            if no := refused(body, [text]):
                return no
            sampling = body.sampling(max_tokens(body))
            model = await chat.model()
            prompt = model.text_prompt(text)
            model.room(prompt)
        except Unsupported as exc:
            return error(400, str(exc), param=exc.param)
        except PromptTooLong as exc:
            return error(400, str(exc), param="prompt", code="context_length_exceeded")
        echo = text if body.echo else ""
        return await answer(request, body, text_shape, model, prompt, sampling, [], echo)

    async def answer(
        request: Request,
        body: GenerationOptions,
        shape: Shape,
        model: ChatModel,
        prompt: list[int],
        sampling: Sampling,
        template_stops: list[str],
        echo: str = "",
    ) -> Response:
        pieces: PieceStream[Generation] = PieceStream()
        pieces.start(
            chat.runner.run(
                lambda: model.generate(
                    prompt, sampling, pieces.emit, pieces.stopped, extra_stops=template_stops
                )
            )
        )
        ident, created = f"{shape.id_prefix}{uuid.uuid4().hex}", int(time.time())

        def usage(generation: Generation) -> dict[str, int]:
            done = generation.completion_tokens
            return {"prompt_tokens": len(prompt), "completion_tokens": done,
                    "total_tokens": len(prompt) + done}  # fmt: skip

        if not body.stream:
            watcher = asyncio.create_task(pieces.stop_on_hangup(request.receive))
            parts = [echo]
            try:
                while (piece := await pieces.next()) is not None:
                    parts.append(piece)
            finally:
                watcher.cancel()
            generation = pieces.result()  # Overloaded here becomes the app's 503
            choice = shape.choice("".join(parts), generation.finish_reason, chunk=False)
            return JSONResponse({"id": ident, "object": shape.kind, "created": created,
                                 "model": MODEL, "choices": [choice],
                                 "usage": usage(generation)})  # fmt: skip

        first = await pieces.next()
        if first is None:
            pieces.result()  # a refusal (busy) before the first piece is still a plain 503
        with_usage = body.wants_usage_chunk()

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            payload = {"id": ident, "object": shape.chunk_kind, "created": created,
                       "model": MODEL, "choices": choices}  # fmt: skip
            if with_usage:
                payload["usage"] = None
            return sse(payload | extra)

        async def events() -> AsyncIterator[bytes]:
            try:
                if opening := shape.opening():
                    yield chunk([opening])
                piece: str | None = echo + first if first is not None else echo or None
                while piece is not None:
                    yield chunk([shape.choice(piece, None, chunk=True)])
                    piece = await pieces.next()
                try:
                    generation = pieces.result()
                except Exception as exc:  # the answer has begun: say so in the stream
                    log.exception("local-chat generation failed mid-stream")
                    problem = {"message": f"Generation failed: {exc}", "type": "server_error",
                               "param": None, "code": None}  # fmt: skip
                    yield sse({"error": problem})
                    return
                yield chunk([shape.choice(None, generation.finish_reason, chunk=True)])
                if with_usage:
                    yield chunk([], usage=usage(generation))
                yield b"data: [DONE]\n\n"
            finally:
                pieces.stop()  # the client hung up (or we are done): free the model

        headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    return router
