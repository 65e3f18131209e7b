"""Upstream HTTP failures mapped to `UpstreamError`s, with nothing unsafe in their messages."""

from __future__ import annotations

import orjson
import pytest

from twelve.kernel.errors import UpstreamTimeout
from twelve.modules.models.adapters.upstream_errors import error_from_response, sanitize


def body(message: str, **fields: object) -> bytes:
    return orjson.dumps({"error": {"message": message, **fields}})


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (body("bad things"), "bad things"),
        (orjson.dumps({"error": "model 'x' not found"}), "model 'x' not found"),
        (orjson.dumps({"object": "error", "message": "vllm says no", "code": 400}), "vllm says no"),
        (
            orjson.dumps({"detail": [{"msg": "field required"}, {"msg": "too long"}]}),
            "field required; too long",
        ),
        (orjson.dumps({"detail": "plain detail"}), "plain detail"),
    ],
)
def test_messages_from_every_common_error_shape(payload: bytes, message: str) -> None:
    assert error_from_response(400, payload, {}).message == message


def test_non_json_bodies_are_not_shown() -> None:
    error = error_from_response(400, b"<html><body>nginx</body></html>", {})
    assert error.message == "The upstream provider rejected the request (HTTP 400)."


def test_server_errors_keep_a_clean_message() -> None:
    error = error_from_response(503, b"Service Unavailable", {})
    assert error.message == "The deployment: the upstream failed (HTTP 503)."
    assert (error.status, error.retryable, error.kind) == (502, True, "upstream_5xx")


def test_stack_traces_never_pass() -> None:
    trace = 'Traceback (most recent call last):\n  File "/app/server.py", line 1, in <module>'
    error = error_from_response(500, body(trace), {})
    assert "Traceback" not in error.message
    assert "server.py" not in error.message


def test_keys_are_redacted() -> None:
    message = "Incorrect API key provided: sk-proj-abc***wxyz. Header was Bearer abc.def"
    cleaned = sanitize(message, secrets=("my-configured-secret",))
    assert "sk-proj" not in cleaned
    assert "abc.def" not in cleaned
    assert (
        sanitize("key my-configured-secret leaked", ("my-configured-secret",))
        == "key [redacted] leaked"
    )


def test_long_messages_are_cut() -> None:
    assert len(sanitize("x" * 5000)) <= 500


def test_upstream_code_and_param_pass_through() -> None:
    error = error_from_response(400, body("bad", code="invalid_value", param="temperature"), {})
    assert (error.code, error.param) == ("invalid_value", "temperature")


def test_exhausted_quota_is_not_retryable() -> None:
    error = error_from_response(429, body("You exceeded your quota", code="insufficient_quota"), {})
    assert (error.status, error.kind, error.retryable) == (429, "rate_limit", False)


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (400, body("prompt is too long: 210000 tokens > 200000 maximum")),
        (400, body("x", code="context_length_exceeded")),
        (413, body("Input is too long for requested model.")),
        (400, body("This model's maximum context length is 4096 tokens.")),
    ],
)
def test_context_length_errors(status: int, payload: bytes) -> None:
    error = error_from_response(status, payload, {})
    assert (error.status, error.kind, error.code) == (
        400,
        "context_length",
        "context_length_exceeded",
    )


def test_content_filter_errors() -> None:
    error = error_from_response(400, body("Output blocked by content filtering policy"), {})
    assert (error.kind, error.code) == ("content_filter", "content_filter")


def test_request_timeout_from_upstream_is_a_timeout() -> None:
    assert isinstance(error_from_response(408, b"", {}), UpstreamTimeout)


def test_other_client_errors_keep_their_status() -> None:
    error = error_from_response(409, body("conflict"), {})
    assert (error.status, error.kind, error.retryable) == (409, "upstream_4xx", False)
