"""`local-tts`: Debian's `flite` speaking with its built-in voices, run as a subprocess.

flite is a separate program, not a library: it runs with no shell, the text goes in through a
temporary file (never on a command line, where a text starting with `-` would read as an option),
the run is bounded in time, and a missing binary is a 503 naming the Debian package. OpenAI's
voice names map onto flite's voices; `pcm` is OpenAI's raw format (16-bit little-endian mono at
24 kHz), resampled from flite's 16 kHz with PyAV.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twelve.sidecar.missing import MissingModel
from twelve.sidecar.refused import Refused

PACKAGE = "the Debian package flite (apt-get install flite)"
# OpenAI's voices onto flite's: slt is a US woman, rms a US man, awb a Scottish man.
VOICES = {
    **dict.fromkeys(("alloy", "coral", "nova", "sage", "shimmer", "marin"), "slt"),
    **dict.fromkeys(("ash", "ballad", "cedar", "echo", "onyx", "verse"), "rms"),
    "fable": "awb",
    **{name: name for name in ("slt", "rms", "awb", "kal16")},
}
FORMATS = ("wav", "pcm")
PCM_RATE = 24_000  # OpenAI's `pcm`: 24 kHz, signed 16-bit little-endian, mono


@dataclass(frozen=True)
class Speech:
    audio: bytes
    seconds: float


def local_voice(voice: str) -> str:
    found = VOICES.get(voice.strip().lower())
    if found is None:
        names = ", ".join(sorted(VOICES))
        raise Refused(400, f"Unknown voice {voice!r}; use one of {names}.", param="voice")
    return found


class TextToSpeech:
    def __init__(self, binary: str, timeout: float) -> None:
        path = shutil.which(binary)
        if path is None:
            raise MissingModel("local-tts", PACKAGE)
        self._path = path
        self._timeout = timeout

    def speak(self, text: str, voice: str, speed: float) -> Speech:
        """WAV bytes (16 kHz mono) of `text` in flite's `voice`, `speed` times as fast."""
        with tempfile.TemporaryDirectory(prefix="twelve-tts-") as folder:
            source, target = Path(folder) / "input.txt", Path(folder) / "speech.wav"
            source.write_text(text, encoding="utf-8")
            command = [self._path, "-voice", voice, "--setf", f"duration_stretch={1 / speed:.4f}",
                       "-f", str(source), "-o", str(target)]  # fmt: skip
            try:
                done = subprocess.run(
                    command,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=self._timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise Refused(
                    503, f"flite took over {self._timeout:g} s.", code="model_timeout"
                ) from None
            if done.returncode != 0 or not target.is_file():
                said = done.stderr.decode(errors="replace").strip()[-200:]
                raise Refused(
                    500, f"flite failed (exit {done.returncode}): {said}", code="model_failed"
                )
            audio = target.read_bytes()
        return Speech(audio=audio, seconds=wav_seconds(audio))


def wav_seconds(audio: bytes) -> float:
    with wave.open(io.BytesIO(audio)) as reader:
        return float(reader.getnframes() / reader.getframerate())


def to_pcm(audio: bytes) -> bytes:
    """A mono 16-bit WAV's samples, resampled to OpenAI's 24 kHz `pcm`."""
    import av

    with wave.open(io.BytesIO(audio)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    if samples.size == 0:
        return b""
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=PCM_RATE)
    out = [*resampler.resample(frame), *resampler.resample(None)]
    return b"".join(f.to_ndarray().astype("<i2").tobytes() for f in out)
