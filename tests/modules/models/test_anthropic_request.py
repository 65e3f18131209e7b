"""OpenAI chat requests translated to Anthropic Messages requests."""

from __future__ import annotations

from typing import Any

import pytest

from twelve.kernel.errors import InvalidRequest
from twelve.modules.models.adapters.protocols.anthropic_request import to_messages_request


def translate(**body: Any) -> dict[str, Any]:
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return to_messages_request(body, model="claude-x", default_max_tokens=4096, stream=False)


def test_minimal_request() -> None:
    assert translate() == {
        "model": "claude-x",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }


def test_system_and_developer_messages_become_system() -> None:
    request = translate(
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": [{"type": "text", "text": "use French"}]},
        ]
    )

    assert request["system"] == [
        {"type": "text", "text": "be brief"},
        {"type": "text", "text": "use French"},
    ]
    assert [m["role"] for m in request["messages"]] == ["user"]


def test_parameters() -> None:
    request = to_messages_request(
        {
            "messages": [{"role": "user", "content": "hi"}],
            "max_completion_tokens": 50,
            "max_tokens": 10,
            "temperature": 1.5,
            "top_p": 0.9,
            "stop": ["END", "  "],
            "user": "user-42",
            "seed": 7,
        },
        model="claude-x",
        default_max_tokens=4096,
        stream=True,
    )

    assert request["max_tokens"] == 50
    assert request["temperature"] == 1.0  # Anthropic's range ends at 1
    assert request["top_p"] == 0.9
    assert request["stop_sequences"] == ["END"]
    assert request["metadata"] == {"user_id": "user-42"}
    assert request["stream"] is True
    assert "seed" not in request


def test_a_single_stop_string() -> None:
    assert translate(stop="\n\nHuman:")["stop_sequences"] == ["\n\nHuman:"]


def test_images_as_base64_and_url_sources() -> None:
    content = [
        {"type": "text", "text": "compare"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]
    [message] = translate(messages=[{"role": "user", "content": content}])["messages"]

    assert message["content"] == [
        {"type": "text", "text": "compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


def test_pdf_files_become_documents() -> None:
    part = {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE"}}
    [message] = translate(messages=[{"role": "user", "content": [part]}])["messages"]

    assert message["content"][0]["type"] == "document"
    assert message["content"][0]["source"]["media_type"] == "application/pdf"


def test_tools_and_tool_choice() -> None:
    tool = {
        "type": "function",
        "function": {"name": "f", "description": "does f", "parameters": {"type": "object"}},
    }
    request = translate(tools=[tool], tool_choice="required", parallel_tool_calls=False)

    assert request["tools"] == [
        {"name": "f", "description": "does f", "input_schema": {"type": "object"}}
    ]
    assert request["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, None),
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "f"}}, {"type": "tool", "name": "f"}),
    ],
)
def test_tool_choice_mapping(choice: Any, expected: Any) -> None:
    tool = {"type": "function", "function": {"name": "f"}}
    request = translate(tools=[tool], tool_choice=choice)

    assert request.get("tool_choice") == expected
    assert request["tools"][0]["input_schema"] == {"type": "object", "properties": {}}


def test_tool_calls_and_results_round_trip() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    request = translate(
        messages=[
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": "calling", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "done"},
            {"role": "user", "content": "and?"},
        ]
    )

    user, assistant, results = request["messages"]
    assert user["role"] == "user"
    assert assistant["content"] == [
        {"type": "text", "text": "calling"},
        {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
    ]
    # The tool result and the next user text share one user turn: turns must alternate.
    assert results["role"] == "user"
    assert results["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "call_1",
            "content": [{"type": "text", "text": "done"}],
        },
        {"type": "text", "text": "and?"},
    ]


def test_empty_text_is_dropped() -> None:
    request = translate(
        messages=[{"role": "user", "content": "hi"}, {"role": "user", "content": ""}]
    )
    assert request["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"n": 2}, "n"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "function", "content": "x"}]}, "messages"),
        ({"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "messages"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools"),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {}},
            "tool_choice",
        ),
    ],
)
def test_what_cannot_be_translated_is_refused(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(**body)

    assert caught.value.param == param


def test_tool_call_arguments_must_be_an_object() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}
    with pytest.raises(InvalidRequest, match="JSON object"):
        translate(messages=[{"role": "assistant", "tool_calls": [call]}])
