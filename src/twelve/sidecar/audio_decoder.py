"""Turning an uploaded audio file into the 16 kHz mono samples Whisper reads, with PyAV (FFmpeg's
decoders, which faster-whisper brings).

Only the formats OpenAI's transcription endpoint takes are opened, told apart by their first bytes
and handed to FFmpeg with that demuxer named: FFmpeg never probes its way into a playlist or a
concat list that would open further files or URLs. Decoding stops as soon as the audio runs past
the duration bound, so a small, highly compressed file cannot unpack into hours of samples.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from twelve.sidecar.missing import MissingModel
from twelve.sidecar.refused import Refused

if TYPE_CHECKING:
    import av

SAMPLE_RATE = 16_000  # what Whisper was trained on
ACCEPTED = "wav, mp3, ogg, flac, webm, m4a (mp4)"


def demuxer(head: bytes) -> str | None:
    """FFmpeg's demuxer for a file starting with `head` (its first 12 bytes), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska, so WebM
        return "matroska"
    if head[4:8] == b"ftyp":  # ISO base media: m4a, mp4
        return "mp4"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"  # an ID3 tag, or an MPEG audio frame's sync word
    return None


def decode(file: IO[bytes], max_seconds: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The file's first audio track as float32 samples in [-1, 1] at 16 kHz, mono.

    Raises Refused: 415 for a format not accepted, 400 for audio that does not decode, has no
    sound or runs over `max_seconds`."""
    try:
        import av
    except ModuleNotFoundError:
        raise MissingModel("local-stt", "av (PyAV, with faster-whisper)") from None
    head = file.read(12)
    file.seek(0)
    name = demuxer(head)
    if name is None:
        raise Refused(415, f"Unsupported audio format; send one of {ACCEPTED}.", param="file")
    limit = max_seconds * SAMPLE_RATE
    chunks: list[np.ndarray[Any, np.dtype[np.int16]]] = []
    total = 0
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    try:
        with av.open(file, mode="r", format=name, metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise Refused(400, "The file has no audio track.", param="file")
            for frame in _readable(container.decode(audio=0)):
                for out in resampler.resample(frame):
                    samples = _samples(out)
                    total += samples.size
                    if total > limit:
                        raise Refused(
                            400, f"The audio is over {max_seconds} seconds long.", param="file"
                        )
                    chunks.append(samples)
            chunks.extend(_samples(out) for out in resampler.resample(None))
    except av.FFmpegError:
        raise Refused(400, f"The audio could not be decoded as {name}.", param="file") from None
    finally:
        # FFmpeg's resampler state is only freed by a collection (faster-whisper issue #390).
        del resampler
        gc.collect()
    if not chunks or sum(c.size for c in chunks) == 0:
        raise Refused(400, "The file holds no audio samples.", param="file")
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def _samples(frame: av.AudioFrame) -> np.ndarray[Any, np.dtype[np.int16]]:
    return frame.to_ndarray().reshape(-1).astype(np.int16, copy=False)


def _readable(frames: Iterator[av.AudioFrame]) -> Iterator[av.AudioFrame]:
    """The frames that decode: damaged data ends the audio there, keeping what came before it (as
    faster-whisper's own loader does) rather than failing a long recording over a bad tail; a file
    with nothing before the damage is refused above."""
    import av

    while True:
        try:
            yield next(frames)
        except StopIteration:
            return
        except av.InvalidDataError:
            continue
