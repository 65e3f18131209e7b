"""Malformed chat bodies are refused by the Anthropic translation with a 400 naming the param,
before any upstream call; whatever JSON object it gets, it returns a request or raises that."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twelve.kernel.errors import InvalidRequest
from twelve.modules.models.adapters.protocols.anthropic_request import to_messages_request

USER = {"role": "user", "content": "hi"}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def translate(body: dict[str, Any]) -> dict[str, Any]:
    return to_messages_request(body, model="claude-x", default_max_tokens=16, stream=False)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "assistant", "tool_calls": 5}]}, "messages"),
        ({"messages": [{"role": "assistant", "tool_calls": [5]}]}, "messages"),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": 5}}]}]},
            "messages",
        ),
        ({"messages": [{"role": "user", "content": [{"type": "file", "file": {}}]}]}, "messages"),
        ({"messages": [{"role": "user", "content": [{"type": "file", "file": 7}]}]}, "messages"),
        (
            {
                "messages": [USER],
                "tools": [TOOL],
                "tool_choice": {"type": "function", "function": "x"},
            },
            "tool_choice",
        ),
        ({"messages": [USER], "tools": [TOOL], "tool_choice": 3}, "tool_choice"),
        ({"messages": [USER], "tools": 5}, "tools"),
        ({"messages": [USER], "tools": [{"type": "function", "function": {"name": 3}}]}, "tools"),
        ({"messages": [USER], "max_tokens": "many"}, "max_tokens"),
        ({"messages": [USER], "max_completion_tokens": [1]}, "max_completion_tokens"),
        ({"messages": [USER], "temperature": "hot"}, "temperature"),
        ({"messages": [USER], "top_p": "x"}, "top_p"),
        ({"messages": [USER], "stop": 5}, "stop"),
        ({"messages": [USER], "user": 5}, "user"),
        ({"messages": [{"role": "tool", "tool_call_id": 5, "content": "x"}]}, "messages"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages"),
        ({"messages": "hi"}, "messages"),
    ],
)
def test_malformed_shapes_are_invalid_requests_naming_the_param(
    body: dict[str, Any], param: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(body)

    assert (caught.value.status, caught.value.param) == (400, param)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "messages",
        "tools",
        "tool_choice",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "user",
        "n",
        "parallel_tool_calls",
        "stream_options",
    ]
)
ROLES = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", 5])
MESSAGE = st.fixed_dictionaries(
    {"role": ROLES},
    optional={"content": JSON, "tool_calls": JSON, "tool_call_id": JSON, "name": JSON},
)
BODY = st.dictionaries(FIELDS, JSON, max_size=6) | st.fixed_dictionaries(
    {"messages": st.lists(MESSAGE, max_size=3)},
    optional={"tools": JSON, "tool_choice": JSON, "max_tokens": JSON, "stop": JSON},
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BODY)
def test_any_json_object_is_a_request_or_an_invalid_request(body: dict[str, Any]) -> None:
    request: dict[str, Any] | None = None
    refused: InvalidRequest | None = None
    try:
        request = translate(body)
    except InvalidRequest as error:
        refused = error
    if refused is not None:
        assert refused.status == 400 and refused.param is not None
    else:
        assert request is not None and request["messages"]
        assert isinstance(request["max_tokens"], int)
