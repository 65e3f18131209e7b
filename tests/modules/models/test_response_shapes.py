"""Whatever JSON object an upstream answers with, the adapter either passes on something the
gateway can index into and orjson can write, or raises an `UpstreamError`: nothing else."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from twelve.kernel.errors import UpstreamError
from twelve.modules.models.adapters.protocols.anthropic_response import (
    ChunkTranslator,
    to_chat_completion,
)
from twelve.modules.models.adapters.protocols.openai_shapes import check_chunk, check_response
from twelve.modules.models.adapters.upstream_failures import malformed
from twelve.modules.models.api import OPERATIONS

SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "text", "id", "name", "input", "usage", "content", "index"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=16,
)
KEYS = st.sampled_from(
    ["type", "content", "usage", "id", "model", "choices", "data", "delta", "message", "index"]
)
OBJECT = st.dictionaries(KEYS, JSON, max_size=5)
EVENT_TYPES = st.sampled_from(
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "message_delta",
        "message_stop",
        "ping",
    ]
)


def outcome(make: Any) -> Any:
    """`make()`'s result, or None when it raised an `UpstreamError` (the only failure allowed)."""
    failure: UpstreamError | None = None
    try:
        return make()
    except UpstreamError as error:
        failure = error
    assert failure.status == 502
    return None


@settings(max_examples=200, deadline=None)
@given(OBJECT)
def test_anthropic_messages(message: dict[str, Any]) -> None:
    if (result := outcome(lambda: to_chat_completion(message))) is not None:
        orjson.dumps(result)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(EVENT_TYPES, OBJECT), max_size=5))
def test_anthropic_stream_events(events: list[tuple[str, dict[str, Any]]]) -> None:
    translator = ChunkTranslator()
    for kind, event in events:
        chunks = outcome(lambda: translator.translate({**event, "type": kind}))  # noqa: B023
        if chunks is None:
            return
        orjson.dumps(chunks)


@settings(max_examples=200, deadline=None)
@given(OBJECT)
def test_openai_answers(body: dict[str, Any]) -> None:
    for operation in OPERATIONS.values():
        outcome(lambda: check_response(operation, body, malformed))  # noqa: B023
    outcome(lambda: check_chunk(body, malformed))
