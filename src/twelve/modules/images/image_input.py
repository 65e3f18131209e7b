"""An input image as bytes we accept: decoded from base64 or a data URL, its type told by its
first bytes (never by a name or a declared type), its canvas bounded.

The pixel bound reads the dimensions from the header of PNG, GIF, BMP, WebP and JPEG (the types
a decoder would be asked to inflate); a header that cannot be read is a corrupt image (400).
"""

from __future__ import annotations

import base64
import binascii
import struct

from twelve.kernel.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
    b"BM": "image/bmp",
    b"II*\x00": "image/tiff",
    b"MM\x00*": "image/tiff",
}
PDF = b"%PDF-"


class TooLarge(PayloadTooLarge):
    code = "image_too_large"


def decode(text: str, param: str, max_bytes: int) -> bytes:
    """The bytes of base64 text or a `data:...;base64,` URL."""
    if text.startswith("data:"):
        head, _, text = text.partition(",")
        if not head.endswith(";base64"):
            raise InvalidRequest(f"'{param}' must be a base64 data URL.", param=param)
    if len(text) > (max_bytes + 2) // 3 * 4 + 4:
        raise TooLarge(f"'{param}' is over {max_bytes} bytes.", param=param)
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"'{param}' is not valid base64.", param=param) from None


def check(data: bytes, param: str, *, documents: bool, max_bytes: int, max_pixels: int) -> str:
    """The media type of `data`, once it is known to be an accepted, bounded image."""
    if not data:
        raise InvalidRequest(f"'{param}' is empty.", param=param)
    if len(data) > max_bytes:
        raise TooLarge(f"'{param}' is over {max_bytes} bytes.", param=param)
    if data.startswith(PDF):
        if documents:
            return "application/pdf"
        raise UnsupportedMediaType(f"'{param}' is a PDF: send an image.", param=param)
    media = _sniff(data)
    if media is None:
        accepted = "PNG, JPEG, WebP, GIF, BMP, TIFF" + (" or PDF" if documents else "")
        raise UnsupportedMediaType(f"'{param}' is not an image we read ({accepted}).", param=param)
    size = _dimensions(data, media)
    if media != "image/tiff" and size is None:
        raise InvalidRequest(f"'{param}' is a corrupt {media} image.", param=param)
    if size is not None and size[0] * size[1] > max_pixels:
        raise TooLarge(
            f"'{param}' is {size[0]}x{size[1]} pixels, over {max_pixels} in all.", param=param
        )
    return media


def _sniff(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((media for magic, media in IMAGE_TYPES.items() if data.startswith(magic)), None)


def _dimensions(data: bytes, media: str) -> tuple[int, int] | None:
    try:
        if media == "image/png" and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return width, height
        if media == "image/gif":
            width, height = struct.unpack("<HH", data[6:10])
            return width, height
        if media == "image/bmp":
            width, height = struct.unpack("<ii", data[18:26])
            return abs(width), abs(height)
        if media == "image/webp":
            return _webp(data)
        if media == "image/jpeg":
            return _jpeg(data)
    except struct.error:
        return None
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if kind == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    """The frame header's size: walk the segments to the first start-of-frame marker."""
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None
