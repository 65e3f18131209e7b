"""Talking to an in-process sidecar in the speech tests: one app per test module (Whisper loads
once), and the two calls every test makes, in OpenAI's shapes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from twelve.sidecar.app import create_app
from twelve.sidecar.settings import SidecarSettings

SENTENCE = "The quick brown fox jumps over the lazy dog."


@asynccontextmanager
async def speech_sidecar(settings: SidecarSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://sidecar", timeout=120) as client,
    ):
        yield client


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


async def speak(client: httpx.AsyncClient, text: str, **extra: object) -> httpx.Response:
    answer = await client.post(
        "/v1/audio/speech", json={"model": "local-tts", "input": text, **extra}
    )
    assert answer.status_code == 200, answer.text
    return answer


async def transcribe(
    client: httpx.AsyncClient, audio: bytes, name: str = "speech.wav", **fields: str
) -> httpx.Response:
    return await client.post(
        "/v1/audio/transcriptions",
        data={"model": "local-stt", **fields},
        files={"file": (name, audio, "application/octet-stream")},
    )
