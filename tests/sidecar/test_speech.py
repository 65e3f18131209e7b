"""The sidecar's speech models do real work: what flite says, Whisper writes back as the same
words, in every response format, with the audio's seconds metered; the speed setting changes the
length; long audio, a busy model and work past its time limit get clear answers."""

from __future__ import annotations

import asyncio
import io
import math
import re
import wave
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.sidecar.speech_client import SENTENCE, speak, speech_sidecar, transcribe, words
from twelve.sidecar.settings import SidecarSettings

pytestmark = pytest.mark.asyncio(loop_scope="module")

MAX_AUDIO_SECONDS = 8


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sidecar() -> AsyncIterator[httpx.AsyncClient]:
    settings = SidecarSettings(max_audio_seconds=MAX_AUDIO_SECONDS, max_waiting=64)
    async with speech_sidecar(settings) as client:
        yield client


@pytest.mark.parametrize(
    ("text", "voice"),
    [
        (SENTENCE, "alloy"),
        ("Please send the invoice to the finance team before Friday.", "onyx"),
        ("Good morning, the meeting starts at noon today.", "fable"),
        ("The platform keeps every model on this machine.", "slt"),
    ],
)
async def test_what_tts_says_stt_writes_back_as_the_same_words(
    sidecar: httpx.AsyncClient, text: str, voice: str
) -> None:
    spoken = await speak(sidecar, text, voice=voice)
    assert spoken.headers["content-type"] == "audio/wav"
    assert spoken.headers["x-twelve-characters"] == str(len(text))
    with wave.open(io.BytesIO(spoken.content)) as reader:
        seconds = reader.getnframes() / reader.getframerate()
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
    assert seconds > 1.5
    assert float(spoken.headers["x-twelve-audio-seconds"]) == pytest.approx(seconds, abs=0.01)

    answer = await transcribe(sidecar, spoken.content)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert words(body["text"]) == words(text)
    assert body["usage"] == {"type": "duration", "seconds": math.ceil(seconds)}


async def test_every_response_format_carries_the_words_and_the_seconds(
    sidecar: httpx.AsyncClient,
) -> None:
    audio = (await speak(sidecar, SENTENCE)).content
    verbose = await transcribe(sidecar, audio, response_format="verbose_json")
    assert verbose.status_code == 200, verbose.text
    body = verbose.json()
    assert body["language"] == "english" and body["duration"] > 1.5
    assert words(" ".join(s["text"] for s in body["segments"])) == words(SENTENCE)
    assert body["segments"][0]["id"] == 0 and body["segments"][-1]["end"] <= body["duration"] + 1
    assert body["usage"]["seconds"] >= 2

    for response_format in ("text", "srt", "vtt"):
        answer = await transcribe(sidecar, audio, response_format=response_format)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/plain")
        assert int(answer.headers["x-twelve-audio-seconds"]) == body["usage"]["seconds"]
        lines = answer.text.splitlines()
        spoken_lines = [line for line in lines if line and "-->" not in line]
        if response_format == "srt":
            assert re.fullmatch(r"00:00:00,000 --> 00:00:0\d,\d{3}", lines[1])
            spoken_lines = spoken_lines[1:]  # the cue number
        if response_format == "vtt":
            assert lines[0] == "WEBVTT" and re.fullmatch(r"00:00:00\.000 --> .*", lines[2])
            spoken_lines = spoken_lines[1:]
        assert words(" ".join(spoken_lines)) == words(SENTENCE)


async def test_pcm_is_openais_raw_24_khz_and_speed_changes_the_length(
    sidecar: httpx.AsyncClient,
) -> None:
    wav = await speak(sidecar, SENTENCE)
    pcm = await speak(sidecar, SENTENCE, response_format="pcm")
    assert pcm.headers["content-type"] == "audio/pcm"
    seconds = float(wav.headers["x-twelve-audio-seconds"])
    # 2 bytes a sample at 24,000 samples a second, within a resampler's few samples.
    assert len(pcm.content) / 2 / 24_000 == pytest.approx(seconds, abs=0.01)
    slow = await speak(sidecar, SENTENCE, speed=0.5)
    fast = await speak(sidecar, SENTENCE, speed=2.0)
    slow_s, fast_s = (float(a.headers["x-twelve-audio-seconds"]) for a in (slow, fast))
    assert slow_s > seconds * 1.6 and fast_s < seconds * 0.65


async def test_audio_over_the_duration_bound_is_refused(sidecar: httpx.AsyncClient) -> None:
    long = (await speak(sidecar, "one two three four five six seven. " * 2, speed=0.4)).content
    with wave.open(io.BytesIO(long)) as reader:
        assert reader.getnframes() / reader.getframerate() > MAX_AUDIO_SECONDS
    answer = await transcribe(sidecar, long)
    assert answer.status_code == 400, answer.text
    assert f"over {MAX_AUDIO_SECONDS} seconds" in answer.json()["error"]["message"]


async def test_both_speech_models_are_listed_and_timed(sidecar: httpx.AsyncClient) -> None:
    assert (await transcribe(sidecar, (await speak(sidecar, "Hello.")).content)).status_code == 200
    listed = {m["id"] for m in (await sidecar.get("/v1/models")).json()["data"]}
    assert {"local-stt", "local-tts"} <= listed
    metrics = (await sidecar.get("/metrics")).text
    assert 'twelve_sidecar_inference_seconds_count{model="local-stt"}' in metrics
    assert 'twelve_sidecar_inference_seconds_count{model="local-tts"}' in metrics


async def test_a_busy_stt_answers_503_with_retry_after_and_health_stays_up(
    sidecar: httpx.AsyncClient,
) -> None:
    audio = (await speak(sidecar, SENTENCE)).content
    async with speech_sidecar(SidecarSettings(concurrency=1, max_waiting=0)) as client:
        answers = await asyncio.gather(
            *(transcribe(client, audio) for _ in range(4)), client.get("/healthz")
        )
    statuses = [a.status_code for a in answers[:-1]]
    assert answers[-1].status_code == 200
    assert 200 in statuses and 503 in statuses, statuses
    refused = next(a for a in answers if a.status_code == 503)
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "model_overloaded"


async def test_work_past_its_time_limit_is_a_503_model_timeout(
    sidecar: httpx.AsyncClient,
) -> None:
    audio = (await speak(sidecar, SENTENCE)).content
    settings = SidecarSettings(tts_timeout_seconds=0.001, stt_timeout_seconds=0.001)
    async with speech_sidecar(settings) as client:
        for answer in (
            await client.post("/v1/audio/speech", json={"model": "local-tts", "input": SENTENCE}),
            await transcribe(client, audio),
            await transcribe(client, audio),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "model_timeout"
