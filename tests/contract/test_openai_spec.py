"""The schema validator the suites rely on accepts what OpenAI sends and rejects what it doesn't."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.openai_spec import ValidationError, validate

CHUNK: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "m",
    "usage": None,
    "choices": [{"index": 0, "delta": {"content": "hi"}, "logprobs": None, "finish_reason": None}],
}


def test_nullable_fields_accept_null() -> None:
    validate(CHUNK, "CreateChatCompletionStreamResponse")


def test_a_wrong_enum_value_is_rejected() -> None:
    bad = {**CHUNK, "choices": [{**CHUNK["choices"][0], "finish_reason": "done"}]}
    with pytest.raises(ValidationError):
        validate(bad, "CreateChatCompletionStreamResponse")


def test_a_missing_required_field_is_rejected() -> None:
    message = {"role": "assistant", "content": "x"}  # `refusal` is required
    response = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
    }
    with pytest.raises(ValidationError, match="refusal"):
        validate(response, "CreateChatCompletionResponse")


def test_unknown_schema_names_are_an_error() -> None:
    with pytest.raises(KeyError):
        validate({}, "NoSuchSchema")
