"""The fake's `POST /v1/embeddings` (deterministic vectors from a hash) and `GET /v1/models`."""

from __future__ import annotations

from aiohttp import web

from tests.fakes.upstream_behaviour import (
    encode_base64,
    vector,
    words,
)
from tests.fakes.upstream_exchange import gate, json_response
from tests.fakes.upstream_openai_dialect import (
    DIALECT,
)


async def embeddings(request: web.Request) -> web.StreamResponse:
    gated = await gate(request, DIALECT)
    if isinstance(gated, web.StreamResponse):
        return gated
    body, _ = gated
    raw = body["input"]
    # A string, a list of strings, a list of token ids, or a list of token-id lists.
    items = (
        [raw]
        if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int))
        else list(raw)
    )
    dimensions = body.get("dimensions") or 8
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, item in enumerate(items):
        values = vector(item, dimensions)
        data.append(
            {
                "object": "embedding",
                "index": index,
                "embedding": encode_base64(values) if as_base64 else values,
            }
        )
    tokens = sum(words(item) if isinstance(item, str) else len(item) for item in items)
    return json_response(
        {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


async def models(request: web.Request) -> web.Response:
    created = 1_700_000_000
    ids = ["gpt-fake", "tool", "claude-fake", "embed-fake"]
    return json_response(
        {
            "object": "list",
            "data": [
                {"id": i, "object": "model", "created": created, "owned_by": "fake-upstream"}
                for i in ids
            ],
        }
    )
