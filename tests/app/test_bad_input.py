"""Property: whatever body a client sends, the answer is a served response or an OpenAI-shaped
error with a 4xx status — never a 500, never a stack trace. Runs in process against the ASGI app,
with a real fake upstream behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from tests.app.corpus.stack import serving
from tests.fakes.upstream import FakeUpstream
from tests.support.openai_spec import validate
from twelve.modules.chat.api import ChatCompletionRequest

int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
json_scalars = st.none() | st.booleans() | int64 | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "system", "assistant", "robot", ""]) | json_values},
        optional={"content": st.text(max_size=20) | json_values},
    ),
    max_size=3,
)
chat_bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["echo", "nope", ""]) | json_values,
        "messages": messages | json_values,
        "stream": st.booleans() | json_values,
        "temperature": st.floats(allow_nan=False) | json_values,
        "max_tokens": int64 | json_values,
        "n": st.integers(-2, 3),
        "stream_options": st.fixed_dictionaries({}, optional={"include_usage": json_values}),
    },
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def gateway(upstream: FakeUpstream, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(upstream, tmp_path) as stack:
        yield stack.client


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert b"Traceback" not in response.content
    if response.status_code >= 400:
        body: Any = response.json()
        validate(body, "ErrorResponse")
        assert body["error"]["message"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=chat_bodies)
async def test_any_chat_body_gets_a_clean_answer(
    gateway: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    check(await gateway.post("/v1/chat/completions", content=orjson.dumps(body)))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=st.binary(max_size=64) | json_values.map(orjson.dumps))
async def test_any_bytes_get_a_clean_answer(gateway: httpx.AsyncClient, raw: bytes) -> None:
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
        check(await gateway.post(path, content=raw))


HELLO = [{"role": "user", "content": "hi"}]


def nested(depth: int) -> bytes:
    """`depth` arrays one inside the other, as JSON (orjson cannot write past 254 levels)."""
    return b"[" * depth + b"1" + b"]" * depth


def with_extra(depth: int) -> bytes:
    return orjson.dumps(CHAT)[:-1] + b',"extra":' + nested(depth) + b"}"


def assert_400(response: httpx.Response, param: str | None) -> None:
    check(response)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param, response.text


@pytest.mark.parametrize("depth", [64, 255, 300, 1000])
async def test_deep_nesting_is_a_400_naming_the_field(
    gateway: httpx.AsyncClient, upstream: FakeUpstream, depth: int
) -> None:
    # orjson parses 1,024 levels but writes only 254: such a body used to pass the schema as an
    # unknown field, then fail at forwarding with a 500.
    seen = len(upstream.requests)
    response = await gateway.post("/v1/chat/completions", content=with_extra(depth))
    assert_400(response, "extra")
    assert "nested" in response.json()["error"]["message"]
    assert len(upstream.requests) == seen


async def test_nesting_within_the_limit_is_served(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/v1/chat/completions", content=with_extra(63))
    assert response.status_code == 200, response.text


CHAT = {"model": "echo", "messages": HELLO}
PROMPT = {"model": "echo", "prompt": "hi"}
EMBED = {"model": "echo", "input": "hi"}


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/completions", PROMPT | {"stream": True, "stream_options": "yes"}, "stream_options"),
        (
            "/v1/completions",
            PROMPT | {"stream_options": {"include_usage": "y"}},
            "stream_options.include_usage",
        ),
        ("/v1/completions", PROMPT | {"stop": 5}, "stop"),
        ("/v1/completions", PROMPT | {"logprobs": "x"}, "logprobs"),
        (
            "/v1/chat/completions",
            CHAT | {"stream": True, "stream_options": "yes"},
            "stream_options",
        ),
        ("/v1/chat/completions", CHAT | {"stream": "yes"}, "stream"),
        ("/v1/chat/completions", CHAT | {"tools": 5}, "tools"),
        ("/v1/chat/completions", CHAT | {"tools": [5]}, "tools[0]"),
        (
            "/v1/chat/completions",
            CHAT | {"tools": [{"type": "function", "function": 5}]},
            "tools[0].function",
        ),
        ("/v1/chat/completions", CHAT | {"tool_choice": 5}, "tool_choice"),
        (
            "/v1/chat/completions",
            CHAT | {"tool_choice": {"type": "function", "function": "f"}},
            "tool_choice.function",
        ),
        ("/v1/chat/completions", CHAT | {"n": "x"}, "n"),
        ("/v1/chat/completions", CHAT | {"max_tokens": "3"}, "max_tokens"),
        ("/v1/chat/completions", CHAT | {"max_tokens": 1.5}, "max_tokens"),
        ("/v1/chat/completions", CHAT | {"stop": [1]}, "stop[0]"),
        ("/v1/chat/completions", CHAT | {"user": 5}, "user"),
        ("/v1/chat/completions", CHAT | {"messages": [5]}, "messages[0]"),
        (
            "/v1/chat/completions",
            {"model": "echo", "messages": [{"role": "assistant", "tool_calls": 5}]},
            "messages[0].tool_calls",
        ),
        (
            "/v1/chat/completions",
            {"model": "echo", "messages": [{"role": "user", "content": [5]}]},
            "messages[0].content[0]",
        ),
        (
            "/v1/chat/completions",
            {
                "model": "echo",
                "messages": [{"role": "user", "content": [{"type": "file", "file": "x"}]}],
            },
            "messages[0].content[0].file",
        ),
        ("/v1/embeddings", {"model": "echo", "input": ""}, "input"),
        ("/v1/embeddings", {"model": "echo", "input": []}, "input"),
        ("/v1/embeddings", {"model": "echo", "input": 5}, "input"),
        ("/v1/embeddings", {"model": "echo", "input": [""]}, "input[0]"),
        ("/v1/embeddings", {"model": "echo", "input": [[]]}, "input[0]"),
        ("/v1/embeddings", EMBED | {"dimensions": "3"}, "dimensions"),
        ("/v1/embeddings", EMBED | {"stream_options": {}}, "stream_options"),
        ("/v1/completions", {"model": "echo", "prompt": ""}, "prompt"),
        ("/v1/completions", {"model": "echo", "prompt": []}, "prompt"),
        (
            "/v1/chat/completions",
            {"model": "echo", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages[0].content[0]",
        ),
    ],
)
async def test_wrong_types_are_a_400_naming_the_param_before_any_upstream_call(
    gateway: httpx.AsyncClient,
    upstream: FakeUpstream,
    path: str,
    body: dict[str, Any],
    param: str,
) -> None:
    seen = len(upstream.requests)
    assert_400(await gateway.post(path, content=orjson.dumps(body)), param)
    assert len(upstream.requests) == seen


async def test_the_body_is_json_whatever_the_content_type(gateway: httpx.AsyncClient) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": content_type} if content_type else {}
        request = gateway.build_request(
            "POST", "/v1/chat/completions", content=orjson.dumps(CHAT), headers=headers
        )
        assert content_type is not None or "content-type" not in request.headers
        assert (await gateway.send(request)).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/images/edits",
        "/v1/audio/translations",
        "/v1/responses",
        "/v1/batches",
        "/v1/moderations",
    ],
)
async def test_unbuilt_routes_say_they_are_not_available_yet(
    gateway: httpx.AsyncClient, path: str
) -> None:
    response = await gateway.post(path, json={})
    check(response)
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert "not available in this version" in message and "Unknown request URL" not in message


async def test_a_mistyped_url_is_still_unknown(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/imagesx")
    assert response.status_code == 404
    assert "Unknown request URL" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "message",
    [
        {"role": "user"},
        {"role": "tool", "content": None},
        {"role": "user", "content": [{"type": "text"}]},
        {"role": "user", "content": [{"type": "image_url", "image_url": None}]},
        {"role": "assistant"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
    ],
)
def test_the_published_schema_accepts_what_the_server_accepts(message: dict[str, Any]) -> None:
    """The rules written as validators are in the JSON Schema too, so schema-valid requests that
    API fuzzers generate are not refused (schemathesis' positive-data check)."""
    body = {"model": "m", "messages": [message]}
    schema = ChatCompletionRequest.model_json_schema()
    by_schema = Draft202012Validator(schema).is_valid(body)
    try:
        ChatCompletionRequest.model_validate(body)
        by_server = True
    except ValidationError:
        by_server = False
    assert by_schema == by_server
