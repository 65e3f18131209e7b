"""The sidecar's speech endpoints, in OpenAI's shapes: `POST /v1/audio/transcriptions` (local-stt,
multipart) and `POST /v1/audio/speech` (local-tts, JSON). Each model's work runs on its own bounded
runner, off the event loop; what a client sends is bounded before any of it is decoded.

Usage for metering rides on every answer: `usage` in JSON transcriptions, and the headers
`x-twelve-audio-seconds` (both endpoints) and `x-twelve-characters` (speech)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Generic, Protocol, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from twelve.sidecar.audio_decoder import decode
from twelve.sidecar.audio_form import read_form, transcription_form
from twelve.sidecar.missing import MissingModel
from twelve.sidecar.models import LocalModels
from twelve.sidecar.refused import Refused
from twelve.sidecar.settings import SidecarSettings
from twelve.sidecar.speech_to_text import SpeechToText, Transcript
from twelve.sidecar.text_to_speech import FORMATS, TextToSpeech, local_voice, to_pcm

T = TypeVar("T")
TRANSCRIPTIONS = "/v1/audio/transcriptions"
MAX_SPEECH_CHARS = 4096  # OpenAI's limit on `input`


class ErrorBody(Protocol):
    def __call__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None) -> JSONResponse: ...  # fmt: skip


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # `instructions`, `stream_format`: not for flite

    model: str
    input: str = Field(min_length=1, max_length=MAX_SPEECH_CHARS)
    voice: str = "alloy"
    response_format: str = "wav"
    speed: float = Field(default=1.0, ge=0.25, le=4.0)

    @field_validator("input")
    @classmethod
    def _spoken(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("input has nothing to say")
        return value


class _Loaded(Generic[T]):
    """A model loaded once, on a worker thread, by the first request that needs it."""

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._value: T | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> T:
        if self._value is None:
            async with self._lock:
                if self._value is None:
                    self._value = await asyncio.to_thread(self._load)
        return self._value


def _unknown(model: str, wanted: str) -> None:
    if model != wanted:
        raise Refused(404, f"The model {model!r} does not exist here; use {wanted!r}.",
                      param="model", code="model_not_found")  # fmt: skip


def _transcript_answer(transcript: Transcript, response_format: str) -> Response:
    headers = {"x-twelve-audio-seconds": str(transcript.billed_seconds)}
    if response_format == "json":
        return JSONResponse(transcript.as_json(), headers=headers)
    if response_format == "verbose_json":
        return JSONResponse(transcript.as_verbose_json(), headers=headers)
    text = {"text": transcript.text, "srt": transcript.as_srt(), "vtt": transcript.as_vtt()}
    return PlainTextResponse(text[response_format], headers=headers)


def speech_router(settings: SidecarSettings, models: LocalModels, error: ErrorBody) -> APIRouter:
    stt = _Loaded(lambda: SpeechToText(settings.stt_threads))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.preload:
            with suppress(MissingModel):  # answered as a 503 naming the package, per request
                await stt.get()
        yield

    router = APIRouter(lifespan=lifespan)

    @router.post(TRANSCRIPTIONS, response_model=None)
    async def transcriptions(request: Request) -> Response:
        try:
            form = await read_form(request, max_bytes=settings.max_audio_bytes,
                                   seconds=settings.upload_timeout_seconds)  # fmt: skip
            try:
                fields = transcription_form(form)
                _unknown(fields.model, "local-stt")
                model = await stt.get()

                def work() -> Transcript:
                    samples = decode(fields.file, settings.max_audio_seconds)
                    return model.transcribe(
                        samples,
                        prompt=fields.prompt,
                        temperature=fields.temperature,
                        seconds=settings.stt_timeout_seconds,
                    )

                transcript = await models.runner("local-stt").run(work)
            finally:
                await form.close()
        except Refused as exc:
            return error(exc.status, str(exc), param=exc.param, code=exc.code)
        return _transcript_answer(transcript, fields.response_format)

    @router.post("/v1/audio/speech", response_model=None)
    async def speech(body: SpeechRequest) -> Response:
        try:
            _unknown(body.model, "local-tts")
            if body.response_format not in FORMATS:
                raise Refused(400, f"local-tts answers in {' or '.join(FORMATS)}, not "
                              f"{body.response_format!r}.", param="response_format")  # fmt: skip
            voice = local_voice(body.voice)
            tts = TextToSpeech(settings.flite, settings.tts_timeout_seconds)

            def work() -> tuple[bytes, float]:
                spoken = tts.speak(body.input, voice, body.speed)
                audio = to_pcm(spoken.audio) if body.response_format == "pcm" else spoken.audio
                return audio, spoken.seconds

            audio, seconds = await models.runner("local-tts").run(work)
        except Refused as exc:
            return error(exc.status, str(exc), param=exc.param, code=exc.code)
        headers = {
            "x-twelve-audio-seconds": f"{seconds:.3f}",
            "x-twelve-characters": str(len(body.input)),
        }
        return Response(audio, media_type=f"audio/{body.response_format}", headers=headers)

    return router
