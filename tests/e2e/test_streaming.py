"""Streams pass through as they arrive, and a client that leaves releases the upstream."""

from __future__ import annotations

import re
import time

import httpx
import orjson

CHAT = "/v1/chat/completions"


def stream_request(model: str) -> dict[str, object]:
    return {"model": model, "stream": True, "messages": [{"role": "user", "content": "a b c d"}]}


def test_chunks_reach_the_client_before_the_upstream_finishes(api: httpx.Client) -> None:
    # The upstream sends three events and then hangs; Twelve's gap timeout here is 1.5 s.
    started = time.monotonic()
    events: list[tuple[float, bytes]] = []
    with api.stream("POST", CHAT, json=stream_request("stalling")) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append((time.monotonic() - started, line[6:].encode()))
    first_at = events[0][0]
    assert first_at < 1.0, "the first chunk waited for the whole upstream response"
    assert len(events) >= 3
    last = orjson.loads(events[-1][1])
    assert last["error"]["type"] == "timeout_error"  # the stall ends as an error event ...
    assert all(data != b"[DONE]" for _, data in events)  # ... and never as a clean end
    assert events[-1][0] >= 1.4


def cancelled_upstream_calls(api: httpx.Client, deployment: str) -> float:
    pattern = re.compile(
        r'^twelve_upstream_requests_total\{[^}]*deployment="'
        + re.escape(deployment)
        + r'"[^}]*outcome="cancelled"[^}]*\} (\S+)$',
        re.MULTILINE,
    )
    found = pattern.search(api.get("/metrics").text)
    return float(found.group(1)) if found else 0.0


def test_a_client_that_leaves_releases_the_upstream_call(api: httpx.Client) -> None:
    before = cancelled_upstream_calls(api, "stalling-long/openai/stall-2")
    with api.stream("POST", CHAT, json=stream_request("stalling-long")) as response:
        assert response.status_code == 200
        next(response.iter_lines())  # one chunk in, then hang up mid-stream
    deadline = time.monotonic() + 5
    while cancelled_upstream_calls(api, "stalling-long/openai/stall-2") <= before:
        assert time.monotonic() < deadline, "the upstream call outlived its client"
        time.sleep(0.05)
