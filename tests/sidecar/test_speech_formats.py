"""Every upload format OpenAI's transcription endpoint takes decodes to the same 16 kHz audio:
flite's speech, encoded here with FFmpeg (PyAV) as mp3, ogg/opus, flac, webm/opus and m4a/aac,
comes out the same length; one browser-style webm recording is transcribed to the same words."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from tests.sidecar.speech_client import SENTENCE, speech_sidecar, transcribe, words
from twelve.sidecar.audio_decoder import SAMPLE_RATE, decode
from twelve.sidecar.settings import SidecarSettings
from twelve.sidecar.text_to_speech import TextToSpeech

# (PyAV container format, codec, sample rate the codec takes)
FORMATS = {
    "mp3": ("mp3", "libmp3lame", 16_000),
    "ogg": ("ogg", "libopus", 48_000),
    "flac": ("flac", "flac", 16_000),
    "webm": ("webm", "libopus", 48_000),
    "m4a": ("ipod", "aac", 16_000),
}


@pytest.fixture(scope="module")
def speech() -> bytes:
    return TextToSpeech("flite", timeout=30).speak(SENTENCE, "slt", 1.0).audio


def encode(wav: bytes, extension: str) -> bytes:
    container_format, codec, rate = FORMATS[extension]
    samples = decode(io.BytesIO(wav), 600)
    pcm = (samples * 32767).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    out = io.BytesIO()
    with av.open(out, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


@pytest.mark.parametrize("extension", sorted(FORMATS))
def test_each_accepted_format_decodes_to_the_same_audio(speech: bytes, extension: str) -> None:
    original = decode(io.BytesIO(speech), 600)
    encoded = encode(speech, extension)
    assert encoded[:4] != speech[:4]  # really another container
    decoded = decode(io.BytesIO(encoded), 600)
    # Lossy codecs pad a frame or two (AAC: 1,024 samples of priming); the speech is the same.
    assert abs(decoded.size - original.size) / SAMPLE_RATE < 0.15
    assert 0.05 < float(np.sqrt(np.mean(decoded**2))) < 1


async def test_a_webm_recording_is_transcribed(speech: bytes) -> None:
    async with speech_sidecar(SidecarSettings()) as client:
        answer = await transcribe(client, encode(speech, "webm"), "recording.webm")
    assert answer.status_code == 200, answer.text
    assert words(answer.json()["text"]) == words(SENTENCE)
