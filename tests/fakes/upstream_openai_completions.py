"""The fake's `POST /v1/completions` (legacy text completions), streaming and not."""

from __future__ import annotations

import time

from aiohttp import web

from tests.fakes.upstream_behaviour import (
    pieces,
    truncate,
    words,
)
from tests.fakes.upstream_exchange import gate, json_response, write_events
from tests.fakes.upstream_openai_dialect import (
    DIALECT,
    DONE,
    event,
    ids,
    max_words,
    stream_error,
    usage_body,
)


async def completions(request: web.Request) -> web.StreamResponse:
    gated = await gate(request, DIALECT)
    if isinstance(gated, web.StreamResponse):
        return gated
    body, behaviour = gated
    prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
    prompts = [p if isinstance(p, str) else " ".join(map(str, p)) for p in prompts]
    replies = [truncate(f"echo: {prompt}", max_words(body)) for prompt in prompts]
    usage = usage_body(sum(map(words, prompts)), sum(words(text) for text, _ in replies))
    envelope = {
        "id": f"cmpl-fake{next(ids)}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_fake",
    }
    finishes = ["length" if cut else "stop" for _, cut in replies]
    if not body.get("stream"):
        choices = [
            {"text": text, "index": i, "logprobs": None, "finish_reason": finishes[i]}
            for i, (text, _) in enumerate(replies)
        ]
        return json_response({**envelope, "choices": choices, "usage": usage})

    def chunk(index: int, text: str, finish: str | None = None) -> bytes:
        return event(
            {
                **envelope,
                "choices": [
                    {"text": text, "index": index, "logprobs": None, "finish_reason": finish}
                ],
            }
        )

    events: list[bytes] = []
    for index, (text, _) in enumerate(replies):
        events += [chunk(index, piece) for piece in pieces(text)]
        events.append(chunk(index, "", finishes[index]))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(event({**envelope, "choices": [], "usage": usage}))
    events.append(DONE)
    return await write_events(request, events, behaviour, stream_error())
