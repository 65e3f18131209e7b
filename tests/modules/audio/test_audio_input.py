"""An uploaded audio file is accepted by its bytes: type sniffed, size bounded, a WAV's duration
read from its header and bounded."""

from __future__ import annotations

import pytest

from tests.fakes.upstream_openai_media import wav
from twelve.kernel.errors import InvalidRequest, UnsupportedMediaType
from twelve.modules.audio.audio_input import AudioTooLarge, check, wav_seconds

BIG = 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("data", "media"),
    [(wav(0.5), "audio/wav"), (b"ID3\x04rest", "audio/mpeg"), (b"\xff\xfb\x90\x00", "audio/mpeg"),
     (b"OggS\x00", "audio/ogg"), (b"fLaC\x00", "audio/flac"), (b"\x1a\x45\xdf\xa3", "audio/webm"),
     (b"\x00\x00\x00\x20ftypM4A ", "audio/mp4")],
)  # fmt: skip
def test_accepted_formats(data: bytes, media: str) -> None:
    assert check(data, max_bytes=BIG, max_seconds=60) == media


def test_wav_duration_is_read_and_bounded() -> None:
    assert wav_seconds(wav(2.5)) == pytest.approx(2.5)
    with pytest.raises(AudioTooLarge) as caught:
        check(wav(3.0), max_bytes=BIG, max_seconds=2)
    assert caught.value.status == 413


def test_bad_audio_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType) as unsupported:
        check(b"plain text", max_bytes=BIG, max_seconds=60)
    assert unsupported.value.status == 415
    with pytest.raises(InvalidRequest):
        check(b"RIFF\x00\x00\x00\x00WAVEjunk", max_bytes=BIG, max_seconds=60)
    with pytest.raises(InvalidRequest):
        check(b"", max_bytes=BIG, max_seconds=60)
    with pytest.raises(AudioTooLarge):
        check(wav(1.0), max_bytes=1024, max_seconds=60)
