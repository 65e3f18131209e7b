"""Reading Twelve's answers as raw bytes: OpenAI-shaped errors and server-sent event streams."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from tests.support.openai_spec import validate

DONE = "[DONE]"


def assert_openai_error(
    response: httpx.Response, status: int, type_: str, *, param: str | None = None
) -> dict[str, Any]:
    """The response is `status` with a spec-valid OpenAI error of `type_` (and `param`, when
    given), a request id and no stack trace; returns the `error` object."""
    assert "Traceback" not in response.text, response.text
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert response.headers.get("x-request-id"), response.headers
    body = response.json()
    validate(body, "ErrorResponse")
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["type"] == type_, error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    if param is not None:
        assert error["param"] == param, error
    return error


def sse_data(response: httpx.Response) -> list[str]:
    """The `data:` payloads of an event stream, in order (a streamed response must be read)."""
    assert response.headers["content-type"].startswith("text/event-stream"), response.headers
    return [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]


def sse_chunks(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON chunks of a stream that ended properly, in `data: [DONE]`."""
    payloads = sse_data(response)
    assert payloads, "empty stream"
    assert payloads[-1] == DONE, payloads[-3:]
    return [orjson.loads(p) for p in payloads[:-1]]
