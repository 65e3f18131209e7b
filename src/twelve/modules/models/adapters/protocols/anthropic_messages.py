"""Anthropic's Messages API behind the provider port: chat only, translated both ways.

Request translation is in `anthropic_request.py`, response and stream translation in
`anthropic_response.py`; this file is the exchange itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing

from twelve.kernel.errors import InvalidRequest
from twelve.kernel.http_client import HttpClient
from twelve.modules.models.adapters.endpoint import Endpoint
from twelve.modules.models.adapters.protocols.anthropic_request import to_messages_request
from twelve.modules.models.adapters.protocols.anthropic_response import (
    ChunkTranslator,
    to_chat_completion,
)
from twelve.modules.models.adapters.transport import parse_event, post_json, post_stream
from twelve.modules.models.adapters.upstream_errors import stream_interrupted
from twelve.modules.models.api import JSONObject

# Anthropic requires max_tokens; used when neither the request nor the provider gives one.
FALLBACK_MAX_TOKENS = 4096


class AnthropicMessages:
    """A `ProviderPort` for one deployment on the Anthropic Messages API."""

    def __init__(self, http: HttpClient, endpoint: Endpoint) -> None:
        self._http = http
        self._endpoint = endpoint

    async def chat(self, body: JSONObject, headers: Mapping[str, str]) -> JSONObject:
        request = self._request(body, stream=False)
        message = await post_json(self._http, self._endpoint, "messages", request, headers)
        return to_chat_completion(message)

    async def chat_stream(
        self, body: JSONObject, headers: Mapping[str, str]
    ) -> AsyncIterator[JSONObject]:
        request = self._request(body, stream=True)
        translator = ChunkTranslator(self._endpoint.secrets)
        events = post_stream(self._http, self._endpoint, "messages", request, headers)
        async with aclosing(events):
            async for event in events:
                for chunk in translator.translate(parse_event(event)):
                    yield chunk
        if not translator.finished:
            raise stream_interrupted("the stream ended before `message_stop`")

    async def completion(self, body: JSONObject, headers: Mapping[str, str]) -> JSONObject:
        raise _unsupported("text completions")

    async def completion_stream(
        self, body: JSONObject, headers: Mapping[str, str]
    ) -> AsyncIterator[JSONObject]:
        raise _unsupported("text completions")
        yield {}  # pragma: no cover - makes this an async generator, like the port expects

    async def embeddings(self, body: JSONObject, headers: Mapping[str, str]) -> JSONObject:
        raise _unsupported("embeddings")

    def _request(self, body: JSONObject, *, stream: bool) -> JSONObject:
        return to_messages_request(
            body,
            model=self._endpoint.upstream_model,
            default_max_tokens=self._endpoint.default_max_tokens or FALLBACK_MAX_TOKENS,
            stream=stream,
        )


def _unsupported(what: str) -> InvalidRequest:
    return InvalidRequest(f"This model does not serve {what}.", param="model")
