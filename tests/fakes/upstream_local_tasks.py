"""The fake's routes of the sidecar's own contract (`twelve sidecar`): OCR, image analysis,
classification and summarisation, so that the gateway's side of them (inputs resolved, usage,
routing) is tested on a real socket without the models. Plus `GET /files/picture.png`, a PNG to
fetch by URL.

OCR "reads" the size of the image it got (`<n> bytes`); analysis labels it `grey square`;
classification picks the first label the input mentions (else the first); a summary is the
first `sentences` sentences.
"""

from __future__ import annotations

import base64
import binascii
import re

from aiohttp import web

from tests.fakes.upstream_behaviour import words
from tests.fakes.upstream_exchange import gate, json_response
from tests.fakes.upstream_openai_dialect import DIALECT, error
from tests.fakes.upstream_openai_media import png


def _image(body: dict[str, object], field: str) -> bytes | None:
    value = body.get(field)
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


async def ocr(request: web.Request) -> web.StreamResponse:
    gated = await gate(request, DIALECT)
    if isinstance(gated, web.StreamResponse):
        return gated
    body, _ = gated
    data = _image(body, "file")
    if data is None:
        return error(400, "'file' must be base64.")
    text = f"{len(data)} bytes"
    return json_response(
        {
            "object": "ocr",
            "model": body["model"],
            "text": text,
            "pages": [{"page": 1, "text": text}],
            "usage": {"images": 1},
        }
    )


async def analyses(request: web.Request) -> web.StreamResponse:
    gated = await gate(request, DIALECT)
    if isinstance(gated, web.StreamResponse):
        return gated
    body, _ = gated
    if _image(body, "image") is None:
        return error(400, "'image' must be base64.")
    return json_response(
        {
            "object": "image.analysis",
            "model": body["model"],
            "labels": [{"label": "grey square", "score": 0.9}],
            "faces": [],
            "safety": {"nsfw_score": 0.0, "safe": True},
            "width": 2,
            "height": 2,
            "usage": {"images": 1},
        }
    )


async def classifications(request: web.Request) -> web.StreamResponse:
    gated = await gate(request, DIALECT)
    if isinstance(gated, web.StreamResponse):
        return gated
    body, _ = gated
    text, labels = str(body.get("input", "")), body.get("labels")
    names = list(labels) if isinstance(labels, dict | list) else []
    if len(names) < 2:
        return error(400, "Give at least two labels.")
    best = next((n for n in names if str(n).lower() in text.lower()), names[0])
    scores = [{"label": n, "score": 1.0 if n == best else 0.0} for n in names]
    tokens = words(text)
    return json_response(
        {
            "object": "classification",
            "model": body["model"],
            "label": best,
            "scores": scores,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


async def summaries(request: web.Request) -> web.StreamResponse:
    gated = await gate(request, DIALECT)
    if isinstance(gated, web.StreamResponse):
        return gated
    body, _ = gated
    text = str(body.get("input", ""))
    count = body.get("sentences") if isinstance(body.get("sentences"), int) else 3
    picked = [s for s in re.split(r"(?<=[.!?])\s+", text) if s][: int(count or 3)]
    tokens = words(text)
    return json_response(
        {
            "object": "summary",
            "model": body["model"],
            "summary": " ".join(picked),
            "sentences": picked,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


async def picture(_request: web.Request) -> web.Response:
    return web.Response(body=png(), content_type="image/png")
