"""Audio and image operations on the generic port, for the adapters whose provider declares them:
a multipart upload (transcriptions), a binary answer (speech), image generation. The request's
encoding and the answer's reading come from the operation's descriptor, never from the adapter.
"""

from __future__ import annotations

import base64

import pytest

from tests.contract.conftest import Connect
from tests.contract.test_capabilities import require
from tests.contract.test_chat import NO_HEADERS
from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_openai_media import png, wav
from tests.support.openai_spec import validate
from twelve.kernel.errors import InvalidRequest, UpstreamError
from twelve.modules.models.adapters.provider import Provider
from twelve.modules.models.api import (
    BINARY_OBJECT,
    IMAGE_GENERATIONS,
    SPEECH,
    TRANSCRIPTIONS,
    file_part,
)


async def test_transcription_is_sent_as_a_multipart_upload(
    connect: Connect, provider: Provider, fake: FakeUpstream
) -> None:
    require(provider, "transcription")
    audio = wav(2.0)
    body = {
        "model": "m",
        "file": file_part(audio, "hello.wav", "audio/wav"),
        "language": "en",
        "temperature": 0,
        "timestamp_granularities": ["word", "segment"],
    }
    answer = await connect("whisper-fake").call(TRANSCRIPTIONS, body, NO_HEADERS)

    validate({"text": answer["text"]}, "CreateTranscriptionResponseJson")
    assert answer["text"] == f"heard {len(audio)} bytes of hello.wav"
    assert answer["usage"] == {"type": "duration", "seconds": 2}
    [sent] = fake.requests
    assert sent.json["model"] == "whisper-fake" and sent.json["language"] == "en"
    assert sent.json["temperature"] == "0"
    assert sent.json["timestamp_granularities[]"] in ("word", "segment")
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")


async def test_a_text_transcription_comes_back_as_bytes(
    connect: Connect, provider: Provider
) -> None:
    require(provider, "transcription")
    body = {
        "model": "m",
        "file": file_part(b"RIFF", "a.wav", "audio/wav"),
        "response_format": "text",
    }
    answer = await connect("whisper-fake").call(TRANSCRIPTIONS, body, NO_HEADERS)

    assert answer["object"] == BINARY_OBJECT
    assert answer["content_type"].startswith("text/plain")
    assert base64.b64decode(answer["data"]) == b"heard 4 bytes of a.wav\n"


async def test_speech_answers_audio_bytes(connect: Connect, provider: Provider) -> None:
    require(provider, "speech")
    answer = await connect("tts-fake").call(
        SPEECH, {"model": "m", "input": "one two three four", "voice": "alloy"}, NO_HEADERS
    )

    assert answer["object"] == BINARY_OBJECT and answer["content_type"] == "audio/wav"
    assert base64.b64decode(answer["data"]) == wav(1.0)


async def test_image_generation(connect: Connect, provider: Provider) -> None:
    require(provider, "image_generation")
    answer = await connect("dall-e-fake").call(
        IMAGE_GENERATIONS, {"model": "m", "prompt": "a grey square", "n": 2}, NO_HEADERS
    )

    validate(answer, "ImagesResponse")
    assert [base64.b64decode(d["b64_json"]) for d in answer["data"]] == [png(), png()]


async def test_media_errors_are_upstream_errors(connect: Connect, provider: Provider) -> None:
    require(provider, "speech")
    with pytest.raises(UpstreamError) as caught:
        await connect("fail-500").call(SPEECH, {"model": "m", "input": "x"}, NO_HEADERS)
    assert caught.value.status == 502
    body = {"model": "m", "file": file_part(b"x", "a.wav", "audio/wav")}
    with pytest.raises(UpstreamError):
        await connect("fail-503").call(TRANSCRIPTIONS, body, NO_HEADERS)


async def test_a_file_field_that_is_not_a_file_is_refused(
    connect: Connect, provider: Provider, fake: FakeUpstream
) -> None:
    require(provider, "transcription")
    with pytest.raises(InvalidRequest):
        await connect("whisper-fake").call(
            TRANSCRIPTIONS, {"model": "m", "file": "not a file"}, NO_HEADERS
        )
    assert fake.requests == []
