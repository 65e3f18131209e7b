"""The OpenAI wire format: OpenAI and every server that copies it (vLLM, Ollama, llama.cpp, …).

Requests go through unchanged except `model`, which becomes the upstream's id, so every
operation is the descriptor's path and nothing else. Streams always ask for the usage chunk
(`stream_options.include_usage`): Twelve meters every call, and the gateway decides whether the
client sees that chunk. Answers are checked for shape (`openai_shapes.py`) before they leave.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from functools import partial
from typing import Any

from twelve.kernel.http_client import HttpClient
from twelve.modules.models.adapters.endpoint import Endpoint
from twelve.modules.models.adapters.protocols.openai_shapes import check_chunk, check_response
from twelve.modules.models.adapters.transport import parse_event, post_operation, post_stream
from twelve.modules.models.adapters.upstream_errors import error_in_stream
from twelve.modules.models.adapters.upstream_failures import malformed, stream_interrupted
from twelve.modules.models.api import JSONObject, Operation

_MAX_TOKENS_FIELDS = ("max_tokens", "max_completion_tokens")


class OpenAIWire:
    """A `ProviderPort` for one deployment on an OpenAI-compatible upstream."""

    def __init__(self, http: HttpClient, endpoint: Endpoint) -> None:
        self._http = http
        self._endpoint = endpoint

    async def call(
        self, operation: Operation, body: JSONObject, headers: Mapping[str, str]
    ) -> JSONObject:
        request = self._request(operation, body, stream=False)
        response = await post_operation(self._http, self._endpoint, operation, request, headers)
        check_response(operation, response, partial(malformed, label=self._endpoint.label))
        return response

    async def stream(
        self, operation: Operation, body: JSONObject, headers: Mapping[str, str]
    ) -> AsyncIterator[JSONObject]:
        endpoint = self._endpoint
        request = self._request(operation, body, stream=True)
        bad_chunk = partial(malformed, retryable=False, label=endpoint.label)
        done = finished = False
        events = post_stream(self._http, endpoint, operation.path, request, headers)
        async with aclosing(events):
            async for event in events:
                if done:
                    continue
                if event.data == "[DONE]":
                    # Keep reading to the end of the body so the connection can be reused.
                    done = True
                    continue
                chunk = parse_event(event, endpoint)
                if "error" in chunk and "choices" not in chunk:
                    raise error_in_stream(chunk, endpoint.secrets, endpoint.label)
                check_chunk(chunk, bad_chunk)
                finished = finished or any(
                    choice.get("finish_reason") for choice in chunk.get("choices") or ()
                )
                yield chunk
        # Some compatible servers omit `[DONE]`; a stream that never finished a choice is cut.
        if not (done or finished):
            raise stream_interrupted(
                "the stream ended before the response was complete", endpoint.label
            )

    def _request(self, operation: Operation, body: JSONObject, *, stream: bool) -> JSONObject:
        request: dict[str, Any] = {**body, "model": self._endpoint.upstream_model}
        if stream:
            options = body.get("stream_options")
            request["stream"] = True
            request["stream_options"] = {
                **(options if isinstance(options, dict) else {}),
                "include_usage": True,
            }
        elif operation.streams:
            # OpenAI rejects stream_options on a non-streaming call.
            request.pop("stream", None)
            request.pop("stream_options", None)
        default = self._endpoint.default_max_tokens
        generates = operation.output_tokens is not None
        if (
            generates
            and default is not None
            and not any(request.get(f) for f in _MAX_TOKENS_FIELDS)
        ):
            request["max_tokens"] = default
        return request
