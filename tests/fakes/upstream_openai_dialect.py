"""The OpenAI side of the fake upstream: error shapes, validation, usage and event encoding.

Shapes follow OpenAI's API reference and its OpenAPI document; the endpoints are in
`upstream_openai_chat.py`, `upstream_openai_completions.py` and `upstream_openai_embeddings.py`.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.upstream_exchange import Dialect, json_response

ids = itertools.count(1)
_ERROR_TYPES = {401: "invalid_request_error", 429: "requests"}
_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}
DONE = b"data: [DONE]\n\n"


def error(status: int, message: str | None) -> web.Response:
    type_ = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    if message is None:
        message = f"The fake upstream failed with HTTP {status} as asked."
        if status == 401:
            message = (
                "Incorrect API key provided: sk-fake***cdef. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
    body = {
        "error": {
            "message": message,
            "type": type_,
            "param": None,
            "code": _ERROR_CODES.get(status),
        }
    }
    headers = {"retry-after": "1"} if status == 429 else None
    return json_response(body, status, headers)


def _invalid(request: web.Request, body: dict[str, Any]) -> str | None:
    if not body.get("model"):
        return "you must provide a model parameter"
    if body.get("stream_options") is not None and not body.get("stream"):
        return "The 'stream_options' parameter is only allowed when 'stream' is enabled."
    required = {
        "/v1/chat/completions": "messages",
        "/v1/completions": "prompt",
        "/v1/embeddings": "input",
    }
    field = required.get(request.path)
    if field and not body.get(field):
        return f"Missing required parameter: '{field}'."
    return None


DIALECT = Dialect(
    error=error,
    authorized=lambda request, key: request.headers.get("Authorization") == f"Bearer {key}",
    context_error=lambda: json_response(
        {
            "error": {
                "message": "This model's maximum context length is 8192 tokens. However, your "
                "messages resulted in 9001 tokens. Please reduce the length of the messages.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
        400,
    ),
    filter_error=lambda: json_response(
        {
            "error": {
                "message": "The response was filtered due to the prompt triggering Azure "
                "OpenAI's content management policy.",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
            }
        },
        400,
    ),
    invalid=_invalid,
)


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def usage_body(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def event(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def max_words(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens") or body.get("max_tokens")
    return value if isinstance(value, int) else None


def stream_error() -> bytes:
    return event(
        {
            "error": {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
    )
