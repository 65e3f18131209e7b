from __future__ import annotations

import pytest
from pydantic import ValidationError

from twelve.kernel.http_errors import from_validation_error, param_of
from twelve.modules.chat.api import ChatCompletionRequest


@pytest.mark.parametrize(
    ("loc", "param"),
    [
        (("body", "messages", 0, "role"), "messages[0].role"),
        (("model",), "model"),
        (("body",), None),
        (("tools", 2, "function", "name"), "tools[2].function.name"),
    ],
)
def test_param_names_follow_openai(loc: tuple[str | int, ...], param: str | None) -> None:
    assert param_of(loc) == param


def test_validation_errors_become_invalid_request_with_param() -> None:
    with pytest.raises(ValidationError) as raised:
        ChatCompletionRequest.model_validate(
            {"model": "m", "messages": [{"role": "robot", "content": "hi"}], "stream": "yes"}
        )
    error = from_validation_error(raised.value)
    assert error.status == 400 and error.type == "invalid_request_error"
    assert error.param == "messages[0].role"
    assert "and 1 more problem" in error.message


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        (
            {"model": "m", "messages": [{"role": "user", "content": {"a": 1}}]},
            "messages[0].content",
        ),
        ({"model": "m", "messages": [{"content": "hi"}]}, "messages[0].role"),
        ({"model": "m"}, "messages"),
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": [], "temperature": 3}, "messages"),
    ],
)
def test_union_branches_are_not_named_in_param(body: dict[str, object], param: str) -> None:
    with pytest.raises(ValidationError) as raised:
        ChatCompletionRequest.model_validate(body)
    assert from_validation_error(raised.value, body).param == param


def test_one_problem_per_field_is_counted() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": 5}]}
    with pytest.raises(ValidationError) as raised:
        ChatCompletionRequest.model_validate(body)
    assert len(raised.value.errors()) > 1  # one per union branch
    assert "more problem" not in from_validation_error(raised.value, body).message
