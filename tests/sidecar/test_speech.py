"""The sidecar's speech models do real work: what flite says, Whisper writes back as the same
words, in every response format, with the audio's seconds metered; the speed setting changes the
length; and bad input (empty or long text, a format not offered, corrupt or unsupported or
oversized audio) is a clear 4xx."""

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

from twelve.sidecar.app import create_app
from twelve.sidecar.settings import SidecarSettings

pytestmark = pytest.mark.asyncio(loop_scope="module")

SENTENCE = "The quick brown fox jumps over the lazy dog."
MAX_AUDIO_BYTES = 512 * 1024  # about 16 s of flite's 16 kHz WAV
MAX_AUDIO_SECONDS = 8


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sidecar() -> AsyncIterator[httpx.AsyncClient]:
    settings = SidecarSettings(
        max_audio_bytes=MAX_AUDIO_BYTES, max_audio_seconds=MAX_AUDIO_SECONDS, max_waiting=64
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sidecar", timeout=120
        ) as client,
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
    assert len(long) < MAX_AUDIO_BYTES
    answer = await transcribe(sidecar, long)
    assert answer.status_code == 400, answer.text
    assert f"over {MAX_AUDIO_SECONDS} seconds" in answer.json()["error"]["message"]


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


async def test_both_speech_models_are_listed_and_timed(sidecar: httpx.AsyncClient) -> None:
    assert (await transcribe(sidecar, (await speak(sidecar, "Hello.")).content)).status_code == 200
    listed = {m["id"] for m in (await sidecar.get("/v1/models")).json()["data"]}
    assert {"local-stt", "local-tts"} <= listed
    metrics = (await sidecar.get("/metrics")).text
    assert 'twelve_sidecar_inference_seconds_count{model="local-stt"}' in metrics
    assert 'twelve_sidecar_inference_seconds_count{model="local-tts"}' in metrics


async def test_without_flite_speech_is_a_503_naming_the_package() -> None:
    app = create_app(SidecarSettings(flite="flite-not-installed-here"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sidecar") as client:
        answer = await client.post("/v1/audio/speech", json={"model": "local-tts", "input": "hi"})
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "model_not_installed" and "flite" in error["message"]


async def test_a_busy_stt_answers_503_with_retry_after_and_health_stays_up(
    sidecar: httpx.AsyncClient,
) -> None:
    audio = (await speak(sidecar, SENTENCE)).content
    app = create_app(SidecarSettings(concurrency=1, max_waiting=0))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://sidecar", timeout=120) as client,
    ):
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
    app = create_app(SidecarSettings(tts_timeout_seconds=0.001, stt_timeout_seconds=0.001))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://sidecar", timeout=120) as client,
    ):
        for answer in (
            await client.post("/v1/audio/speech", json={"model": "local-tts", "input": SENTENCE}),
            await transcribe(client, audio),
            await transcribe(client, audio),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "model_timeout"
