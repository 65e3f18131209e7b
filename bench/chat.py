"""The chat request the benchmark sends, and the one-off check that an answer to it is sound."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from bench.load import Request
from bench.procs import BenchError

MESSAGES = [{"role": "user", "content": "hello there"}]


def chat_request(url: str, model: str, *, stream: bool, token: str) -> Request:
    body: dict[str, Any] = {"model": model, "messages": MESSAGES}
    if stream:
        body["stream"] = True
    return Request(
        url=url,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        body=orjson.dumps(body),
        stream=stream,
    )


async def sanity(session: aiohttp.ClientSession, target: str, request: Request) -> None:
    """One request, fully checked, so that a broken set-up fails before any numbers are taken."""
    async with session.post(request.url, data=request.body, headers=request.headers) as resp:
        body = await resp.read()
    if resp.status != 200:
        raise BenchError(f"{target}: sanity request → HTTP {resp.status}: {body[:500]!r}")
    if request.stream:
        if b"data: [DONE]" not in body:
            raise BenchError(f"{target}: stream did not end with [DONE]: {body[-300:]!r}")
        return
    try:
        choices = orjson.loads(body)["choices"]
        if not isinstance(choices, list) or not choices:
            raise ValueError("no choices")
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"{target}: not a chat completion ({exc}): {body[:500]!r}") from None
