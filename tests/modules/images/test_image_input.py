"""An input image is accepted by its bytes: type sniffed, size and canvas bounded, corrupt
headers refused."""

from __future__ import annotations

import base64
import struct

import pytest

from tests.fakes.upstream_openai_media import png
from twelve.kernel.errors import InvalidRequest, UnsupportedMediaType
from twelve.modules.images.image_input import TooLarge, check, decode

BIG = 10 * 1024 * 1024


def jpeg(width: int, height: int) -> bytes:
    """The segments a JPEG decoder reads up to its frame header (enough for the header walk)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 10


@pytest.mark.parametrize(
    ("data", "media"),
    [(png(), "image/png"), (jpeg(640, 480), "image/jpeg"), (gif(3, 3), "image/gif"),
     (b"%PDF-1.7\n...", "application/pdf")],
)  # fmt: skip
def test_accepted_types(data: bytes, media: str) -> None:
    assert check(data, "image", documents=True, max_bytes=BIG, max_pixels=10**7) == media


def test_a_pdf_is_only_a_document() -> None:
    with pytest.raises(UnsupportedMediaType):
        check(b"%PDF-1.4", "image", documents=False, max_bytes=BIG, max_pixels=10**7)


@pytest.mark.parametrize("data", [png(20_000, 20_000), jpeg(30_000, 30_000), gif(65_535, 65_535)])
def test_a_huge_canvas_in_a_small_file_is_refused(data: bytes) -> None:
    with pytest.raises(TooLarge) as caught:
        check(data, "image", documents=False, max_bytes=BIG, max_pixels=50_000_000)
    assert caught.value.status == 413 and "pixels" in caught.value.message


@pytest.mark.parametrize("data", [png()[:20], b"\xff\xd8\xff\x00", b"GIF89a"])
def test_corrupt_headers_are_a_400(data: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check(data, "image", documents=False, max_bytes=BIG, max_pixels=10**7)
    assert caught.value.status == 400


def test_unknown_bytes_and_empty_input() -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        check(b"hello world", "image", documents=False, max_bytes=BIG, max_pixels=10**7)
    assert caught.value.status == 415
    with pytest.raises(InvalidRequest):
        check(b"", "image", documents=False, max_bytes=BIG, max_pixels=10**7)


def test_decode_takes_base64_and_data_urls_within_the_bound() -> None:
    raw = png()
    text = base64.b64encode(raw).decode()
    assert decode(text, "image", BIG) == raw
    assert decode(f"data:image/png;base64,{text}", "image", BIG) == raw
    with pytest.raises(InvalidRequest):
        decode("data:image/png,rawbytes", "image", BIG)
    with pytest.raises(InvalidRequest):
        decode("not base64 at all!", "image", BIG)
    with pytest.raises(TooLarge):
        decode("A" * 5000, "image", 1024)
