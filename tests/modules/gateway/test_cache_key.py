"""The prompt cache's key: one per customer and request, blind to key order and to the fields
that do not change the answer, different for every field that does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twelve.modules.gateway.cache_key import cache_key

BODY: dict[str, Any] = {
    "model": "m",
    "messages": [{"role": "user", "content": "hi"}],
    "temperature": 0.2,
}


def key(body: dict[str, Any], customer: str = "c1", endpoint: str = "chat_completions") -> str:
    return cache_key(customer, endpoint, body)


def test_two_customers_never_share_a_key() -> None:
    assert key(BODY, "c1") != key(BODY, "c2")


def test_the_endpoint_is_part_of_the_key() -> None:
    assert key(BODY, endpoint="chat_completions") != key(BODY, endpoint="completions")


def test_key_order_does_not_matter_at_any_depth() -> None:
    reordered = {
        "temperature": 0.2,
        "messages": [{"content": "hi", "role": "user"}],
        "model": "m",
    }
    assert key(reordered) == key(BODY)


@pytest.mark.parametrize(
    "extra",
    [{"user": "u-1"}, {"stream_options": {"include_usage": True}}, {"metadata": {"a": "b"}}],
)
def test_fields_that_do_not_change_the_answer_are_left_out(extra: dict[str, Any]) -> None:
    assert key(BODY | extra) == key(BODY)


@pytest.mark.parametrize(
    "change",
    [
        {"model": "other"},
        {"messages": [{"role": "user", "content": "hi!"}]},
        {"temperature": 0.3},
        {"top_p": 0.5},
        {"max_tokens": 5},
        {"seed": 1},
        {"stop": ["x"]},
        {"n": 2},
        {"tools": [{"type": "function", "function": {"name": "f"}}]},
        {"response_format": {"type": "json_object"}},
        {"stream": True},  # a stream's entry is its chunks: kept apart
    ],
)
def test_every_field_that_shapes_the_answer_changes_the_key(change: dict[str, Any]) -> None:
    assert key(BODY | change) != key(BODY)


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_distinct_customers_distinct_keys(a: str, b: str) -> None:
    if a != b:
        assert key(BODY, a) != key(BODY, b)
