"""Turns what a client sent (base64 or a `data:` URL) into a checked Pillow image or PDF bytes.

The type is read from the bytes' signature, never from a name a client chose: PNG, JPEG, WebP,
TIFF, BMP and GIF are images, `%PDF-` is a PDF, anything else is 415. An image's size is read
from its header before any pixel is decoded, so a decompression bomb (a small file that claims a
huge canvas) is refused with 413 at no cost; a file whose pixels then fail to decode is 400.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF")
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"%PDF-", "PDF"),
)
_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[\w=.+-]+)*;base64,", re.ASCII)
ACCEPTED = "PNG, JPEG, WebP, TIFF, BMP or GIF"


class RejectedInput(Exception):
    """Input the sidecar will not read, with the HTTP status that says why."""

    def __init__(self, status: int, message: str, param: str) -> None:
        super().__init__(message)
        self.status = status
        self.param = param


@dataclass(frozen=True)
class Upload:
    data: bytes
    kind: str  # one of IMAGE_FORMATS, or "PDF"


def decode_upload(value: str, *, param: str) -> Upload:
    """The bytes of a base64 string or a base64 `data:` URL, and their sniffed type."""
    match = _DATA_URL.match(value)
    encoded = value[match.end() :] if match else value
    if value.startswith("data:") and not match:
        raise RejectedInput(400, "A data: URL must be base64 (data:<type>;base64,...).", param)
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise RejectedInput(400, "The file is not valid base64.", param) from None
    if not data:
        raise RejectedInput(400, "The file is empty.", param)
    return Upload(data, sniff(data, param=param))


def sniff(data: bytes, *, param: str) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    raise RejectedInput(415, f"Unsupported file type: send {ACCEPTED} (or PDF for OCR).", param)


def open_image(upload: Upload, *, max_pixels: int, param: str, frame: int = 0) -> Image.Image:
    """One frame (the first unless told) as a decoded RGB image, its pixels counted first."""
    if upload.kind not in IMAGE_FORMATS:
        raise RejectedInput(415, f"Expected an image ({ACCEPTED}), got {upload.kind}.", param)
    try:
        # Pillow warns about odd files (its bomb check, palettes with transparency...): what it
        # can decode is read, so those warnings must not turn into errors where warnings are
        # strict. Its own bomb limit is higher than ours, which is checked first.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(upload.data), formats=[upload.kind])
            if frame:
                image.seek(frame)
            width, height = image.size
            if width <= 0 or height <= 0:
                raise RejectedInput(400, "The image has no pixels.", param)
            if width * height > max_pixels:
                raise RejectedInput(
                    413,
                    f"The image is {width}x{height} pixels; at most {max_pixels} are read.",
                    param,
                )
            image.load()
            converted = image.convert("RGB")
    except RejectedInput:
        raise
    except Image.DecompressionBombError:
        raise RejectedInput(413, f"The image is over {max_pixels} pixels.", param) from None
    except Exception:  # Pillow's decoders raise many kinds on malformed input (struct.error...)
        raise RejectedInput(
            400, f"The {upload.kind} image is corrupt or truncated.", param
        ) from None
    return converted


def frame_count(upload: Upload, *, at_most: int, param: str) -> int:
    """How many frames (a TIFF's pages) the upload has, counting no further than `at_most`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(upload.data), formats=[upload.kind])
            count = 1
            while count < at_most:
                try:
                    image.seek(count)
                except EOFError:
                    break
                count += 1
    except Exception:  # as in open_image
        raise RejectedInput(400, f"The {upload.kind} image is corrupt.", param) from None
    return count
