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
