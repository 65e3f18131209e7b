"""The official `openai` SDK against `twelve sidecar` run as its own process on 127.0.0.1: speech
made by `audio.speech.create` comes back as the same words from `audio.transcriptions.create`, and
the sidecar's refusals arrive as the SDK's typed errors."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from tests.e2e.sidecar_process import running_sidecar
from tests.sidecar.speech_client import words

SENTENCE = "Please send the invoice to the finance team before Friday."


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAI]:
    log = tmp_path_factory.mktemp("sidecar") / "sidecar.log"
    with (
        running_sidecar(log, {"TWELVE_SIDECAR_PRELOAD": "true"}) as url,
        OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120) as sdk,
    ):
        yield sdk


def test_speech_and_transcription_round_trip_through_the_sdk(client: OpenAI) -> None:
    spoken = client.audio.speech.create(
        model="local-tts", voice="nova", input=SENTENCE, response_format="wav"
    )
    audio = spoken.content
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    assert float(spoken.response.headers["x-twelve-audio-seconds"]) > 2

    transcript = client.audio.transcriptions.create(model="local-stt", file=("speech.wav", audio))
    assert words(transcript.text) == words(SENTENCE)
    usage = transcript.model_dump()["usage"]
    assert usage["type"] == "duration" and usage["seconds"] >= 3

    as_text = client.audio.transcriptions.create(
        model="local-stt", file=("speech.wav", audio), response_format="text"
    )
    assert words(str(as_text)) == words(SENTENCE)
    verbose = client.audio.transcriptions.create(
        model="local-stt", file=("speech.wav", audio), response_format="verbose_json"
    )
    assert verbose.duration > 2 and verbose.segments


def test_refusals_are_the_sdks_typed_errors(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.audio.speech.create(model="local-tts", voice="alloy", input="hi",
                                   response_format="mp3")  # fmt: skip
    assert "wav" in refused.value.message
    with pytest.raises(openai.NotFoundError):
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", b"RIFF0000WAVE"))
    with pytest.raises(openai.APIStatusError) as unsupported:
        client.audio.transcriptions.create(model="local-stt", file=("a.txt", b"plain words"))
    assert unsupported.value.status_code == 415
