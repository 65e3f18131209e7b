"""Anthropic's Messages API behind the generic provider port: chat only, translated both ways.

The port dispatches by operation to a translation; Anthropic has one, for `chat`. Any other
operation is refused with a 400 before any upstream call (the model's declared capabilities
already keep the gateway from asking). Request translation is in `anthropic_request.py`,
response and stream translation in `anthropic_response.py`; this file is the exchange itself.
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
from twelve.modules.models.adapters.upstream_failures import stream_interrupted
from twelve.modules.models.api import JSONObject, Operation

# Anthropic requires max_tokens; used when neither the request nor the provider gives one.
FALLBACK_MAX_TOKENS = 4096
# Operations this protocol translates, and the Messages API path each goes to.
TRANSLATED = {"chat": "messages"}


class AnthropicMessages:
    """A `ProviderPort` for one deployment on the Anthropic Messages API."""

    def __init__(self, http: HttpClient, endpoint: Endpoint) -> None:
        self._http = http
        self._endpoint = endpoint

    async def call(
        self, operation: Operation, body: JSONObject, headers: Mapping[str, str]
    ) -> JSONObject:
        path = _path(operation)
        request = self._request(body, stream=False)
        message = await post_json(self._http, self._endpoint, path, request, headers)
        return to_chat_completion(message, self._endpoint.label)

    async def stream(
        self, operation: Operation, body: JSONObject, headers: Mapping[str, str]
    ) -> AsyncIterator[JSONObject]:
        endpoint = self._endpoint
        path = _path(operation)
        request = self._request(body, stream=True)
        translator = ChunkTranslator(endpoint.secrets, endpoint.label)
        events = post_stream(self._http, endpoint, path, request, headers)
        async with aclosing(events):
            async for event in events:
                for chunk in translator.translate(parse_event(event, endpoint)):
                    yield chunk
        if not translator.finished:
            raise stream_interrupted("the stream ended before `message_stop`", endpoint.label)

    def _request(self, body: JSONObject, *, stream: bool) -> JSONObject:
        return to_messages_request(
            body,
            model=self._endpoint.upstream_model,
            default_max_tokens=self._endpoint.default_max_tokens or FALLBACK_MAX_TOKENS,
            stream=stream,
        )


def _path(operation: Operation) -> str:
    path = TRANSLATED.get(operation.name)
    if path is None:
        raise InvalidRequest(f"This model does not serve {operation.noun}.", param="model")
    return path
