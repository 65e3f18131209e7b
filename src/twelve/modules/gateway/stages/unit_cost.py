"""What is billed per unit rather than per token: images (made, analysed, or pages read), seconds
of audio (transcribed or spoken) and characters spoken.

The worst case before the call is read from the request: `n` images to make (default 1), the
pages asked for (default 1), the characters of the text to speak (and the longest audio they can
make: `SECONDS_PER_CHARACTER` at the slowest speed), and an upload's possible duration
(`upload_seconds`: its bytes at the lowest bit rate a voice codec uses). The actual cost is read
from the answer's `usage` (`images`, `seconds`, `characters`), which the images and audio modules
fill in. Prices are USD, so one unit costs `price * 1e6` micro-dollars, rounded up once.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal

from twelve.modules.gateway.stages.price_list import Price
from twelve.modules.models.api import JSONObject

# Speech at speed 0.25 says about four characters a second.
SECONDS_PER_CHARACTER = 0.25
# 8 kbit/s (a low-rate Opus or AMR voice): the most seconds an upload's bytes can hold, within
# the audio module's own bound (an hour by default).
_BYTES_PER_SECOND = 1000
_MAX_UPLOAD_SECONDS = 3600


def worst_units(capability: str, body: JSONObject) -> tuple[float, float, float]:
    """(images, seconds, characters) the request may be billed for, at most."""
    if capability == "image_generation":
        n = body.get("n")
        return (n if isinstance(n, int) and n > 0 else 1), 0.0, 0.0
    if capability in ("image_analysis", "ocr"):
        pages = body.get("pages")
        return (len(pages) if isinstance(pages, list) and pages else 1), 0.0, 0.0
    if capability == "speech":
        text = body.get("input")
        characters = len(text) if isinstance(text, str) else 0
        return 0.0, characters * SECONDS_PER_CHARACTER, float(characters)
    if capability == "transcription":
        return 0.0, upload_seconds(body), 0.0
    return 0.0, 0.0, 0.0


def upload_seconds(body: JSONObject) -> float:
    upload = body.get("file")
    data = upload.get("data") if isinstance(upload, dict) else None
    size = len(data) * 3 // 4 if isinstance(data, str) else 0
    return float(min(max(1, math.ceil(size / _BYTES_PER_SECOND)), _MAX_UPLOAD_SECONDS))


def units_micros(price: Price, images: float, seconds: float, characters: float) -> int:
    total = (
        Decimal(str(price.per_image)) * Decimal(str(images))
        + Decimal(str(price.per_second)) * Decimal(str(seconds))
        + Decimal(str(price.per_character)) * Decimal(str(characters))
    ) * 1_000_000
    return int(total.to_integral_value(rounding=ROUND_CEILING))


def usage_units(usage: JSONObject) -> tuple[float, float, float] | None:
    """(images, seconds, characters) an answer's usage reports; None when it reports none."""
    counted = [usage.get(key) for key in ("images", "seconds", "characters")]
    if not any(_number(value) is not None for value in counted):
        return None
    images, seconds, characters = (_number(value) or 0.0 for value in counted)
    return images, seconds, characters


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None
