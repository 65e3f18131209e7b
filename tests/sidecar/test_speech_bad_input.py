"""Bad input to the sidecar's speech endpoints is a clear 4xx in OpenAI's error shape: empty,
corrupt, unsupported or oversized audio (with or without a Content-Length), a form without its
file, empty or long text, a format or voice not offered; and a missing flite is a 503 naming it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.sidecar.speech_client import speak, speech_sidecar, transcribe
from twelve.sidecar.settings import SidecarSettings

pytestmark = pytest.mark.asyncio(loop_scope="module")

MAX_AUDIO_BYTES = 512 * 1024  # about 16 s of flite's 16 kHz WAV


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sidecar() -> AsyncIterator[httpx.AsyncClient]:
    async with speech_sidecar(SidecarSettings(max_audio_bytes=MAX_AUDIO_BYTES)) as client:
        yield client


def _wav_header(garbage: bytes) -> bytes:
    return b"RIFF" + (len(garbage) + 4).to_bytes(4, "little") + b"WAVE" + garbage


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.mark.parametrize(
    ("audio", "name", "fields", "status", "param"),
    [
        (b"", "a.wav", {}, 400, "file"),
        (_wav_header(b"\x13\x37" * 200), "a.wav", {}, 400, "file"),
        (b"\xff\xfb" + bytes(range(256)) * 4, "a.mp3", {}, 400, "file"),
        (b"OggS" + b"\x00" * 300, "a.ogg", {}, 400, "file"),
        (b"hello, I am a text file and not audio", "a.txt", {}, 415, "file"),
        (PNG, "a.png", {}, 415, "file"),
        (b"#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1:9/x.wav\n", "a.m3u8", {}, 415, "file"),
        (b"ffconcat version 1.0\nfile '/etc/passwd'\n", "a.txt", {}, 415, "file"),
        (_wav_header(b"\x00" * 64), "a.wav", {"model": "whisper-1"}, 404, "model"),
        (_wav_header(b"\x00" * 64), "a.wav", {"model": ""}, 400, "model"),
        (_wav_header(b"\x00" * 64), "a.wav", {"language": "fr"}, 400, "language"),
        (_wav_header(b"\x00" * 64), "a.wav", {"response_format": "xml"}, 400, "response_format"),
        (_wav_header(b"\x00" * 64), "a.wav", {"temperature": "3"}, 400, "temperature"),
        (_wav_header(b"\x00" * 64), "a.wav", {"temperature": "warm"}, 400, "temperature"),
        (_wav_header(b"\x00" * 64), "a.wav", {"prompt": "x" * 2001}, 400, "prompt"),
    ],
)
async def test_bad_audio_is_a_clear_error(
    sidecar: httpx.AsyncClient,
    audio: bytes,
    name: str,
    fields: dict[str, str],
    status: int,
    param: str,
) -> None:
    answer = await transcribe(sidecar, audio, name, **fields)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"] and error["param"] == param
    assert "Traceback" not in answer.text


async def test_a_transcription_needs_a_multipart_file(sidecar: httpx.AsyncClient) -> None:
    as_json = await sidecar.post("/v1/audio/transcriptions", json={"model": "local-stt"})
    assert as_json.status_code == 415
    no_file = await sidecar.post("/v1/audio/transcriptions", files={"model": (None, "local-stt")})
    assert no_file.status_code == 400 and no_file.json()["error"]["param"] == "file"
    two_files = await sidecar.post(
        "/v1/audio/transcriptions",
        data={"model": "local-stt"},
        files=[("file", ("a.wav", b"RIFF", "audio/wav")), ("file", ("b.wav", b"RIFF", "x/y"))],
    )
    assert two_files.status_code == 400


async def test_an_oversized_upload_is_refused_with_or_without_a_length(
    sidecar: httpx.AsyncClient,
) -> None:
    big = _wav_header(b"\x00" * MAX_AUDIO_BYTES)
    answer = await transcribe(sidecar, big)
    assert answer.status_code == 413
    assert answer.json()["error"]["message"]

    # Chunked, with no Content-Length: counted as it streams and cut off at the same bound.
    boundary = "twelve-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nlocal-stt\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield head
        for _ in range(MAX_AUDIO_BYTES // 65536 + 2):
            yield b"\x00" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    chunked = await sidecar.post(
        "/v1/audio/transcriptions",
        content=chunks(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413, chunked.text


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"input": ""}, 400, "input"),
        ({"input": "   \n"}, 400, "input"),
        ({"input": "x" * 4097}, 400, "input"),
        ({"input": "hi", "response_format": "mp3"}, 400, "response_format"),
        ({"input": "hi", "response_format": "opus"}, 400, "response_format"),
        ({"input": "hi", "voice": "darth"}, 400, "voice"),
        ({"input": "hi", "speed": 5}, 400, "speed"),
        ({"input": "hi", "speed": 0.1}, 400, "speed"),
        ({"input": "hi", "model": "tts-1"}, 404, "model"),
        ({"model": None, "input": "hi"}, 400, "model"),
    ],
)
async def test_bad_speech_requests_are_a_clear_error(
    sidecar: httpx.AsyncClient, body: dict[str, object], status: int, param: str
) -> None:
    answer = await sidecar.post("/v1/audio/speech", json={"model": "local-tts", **body})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"] and error["param"] == param
    if param == "response_format":
        assert "wav" in error["message"] and "pcm" in error["message"]


async def test_text_that_starts_like_an_option_is_only_spoken(
    sidecar: httpx.AsyncClient,
) -> None:
    spoken = await speak(sidecar, "-o /tmp/owned.wav; rm -rf / $(reboot)")
    assert float(spoken.headers["x-twelve-audio-seconds"]) > 1


async def test_without_flite_speech_is_a_503_naming_the_package() -> None:
    async with speech_sidecar(SidecarSettings(flite="flite-not-installed-here")) as client:
        answer = await client.post("/v1/audio/speech", json={"model": "local-tts", "input": "hi"})
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "model_not_installed" and "flite" in error["message"]
