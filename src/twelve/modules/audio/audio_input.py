"""An uploaded audio file as we accept it: its type told by its first bytes (WAV, MP3, Ogg,
FLAC, WebM, MP4/M4A), its size bounded, and a WAV's duration (read from its header) bounded too;
the other containers' duration is bounded by the model server that decodes them."""

from __future__ import annotations

import base64
import binascii

from twelve.kernel.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

ACCEPTED = "wav, mp3, ogg, flac, webm, m4a"


class AudioTooLarge(PayloadTooLarge):
    code = "audio_too_large"


def decode(text: str, max_bytes: int) -> bytes:
    if len(text) > (max_bytes + 2) // 3 * 4 + 4:
        raise AudioTooLarge(f"'file' is over {max_bytes} bytes.", param="file")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("'file' is not valid base64.", param="file") from None


def check(data: bytes, *, max_bytes: int, max_seconds: float) -> str:
    """The audio's media type, once it is known to be accepted and bounded."""
    if not data:
        raise InvalidRequest("'file' is empty.", param="file")
    if len(data) > max_bytes:
        raise AudioTooLarge(f"'file' is over {max_bytes} bytes.", param="file")
    media = _sniff(data)
    if media is None:
        raise UnsupportedMediaType(
            f"'file' is not audio of a supported format ({ACCEPTED}).", param="file"
        )
    if media == "audio/wav":
        seconds = wav_seconds(data)
        if seconds is None:
            raise InvalidRequest("'file' is a corrupt WAV file.", param="file")
        if seconds > max_seconds:
            raise AudioTooLarge(
                f"'file' lasts {seconds:.0f} s, over {max_seconds:.0f} s.", param="file"
            )
    return media


def wav_seconds(data: bytes) -> float | None:
    """A WAV's duration: the `data` chunk's size over the `fmt ` chunk's byte rate."""
    at, rate, size = 12, 0, None
    while at + 8 <= len(data):
        kind = data[at : at + 4]
        length = int.from_bytes(data[at + 4 : at + 8], "little")
        if kind == b"fmt " and length >= 16 and at + 20 <= len(data):
            rate = int.from_bytes(data[at + 16 : at + 20], "little")
        elif kind == b"data":
            size = min(length, len(data) - at - 8)
            break
        at += 8 + length + (length & 1)
    if not rate or size is None:
        return None
    return size / rate


def _sniff(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[:4] == b"fLaC":
        return "audio/flac"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "audio/webm"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    return None
