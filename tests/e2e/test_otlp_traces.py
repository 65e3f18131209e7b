"""A whole trace in a real OTLP/HTTP receiver: `twelve serve` started with the standard
`OTEL_EXPORTER_OTLP_ENDPOINT`, called with the official OpenAI SDK, exports protobuf spans in
batches; the receiver decodes them. Spans still batched when the server stops are sent then."""

from __future__ import annotations

import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.e2e.server import TwelveServer
from tests.e2e.stack import server_env
from tests.fakes.otlp_receiver import otlp_app
from tests.fakes.upstream import FakeUpstream

ADMIN_KEY = "twadmin-otlp-" + "x" * 24
URL = "/v1/chat/completions"


@pytest.fixture
def receiver() -> Iterator[FakeUpstream]:
    with FakeUpstream(app=otlp_app) as fake:
        yield fake


@pytest.fixture
def traced(
    receiver: FakeUpstream, twelve_config: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[TwelveServer]:
    """The server exporting to `receiver`, a batch every 100 ms (or as the test's `delay_ms`
    mark says)."""
    mark = request.node.get_closest_marker("delay_ms")
    env = server_env(twelve_config, tmp_path / "data") | {
        "TWELVE_ADMIN_KEY": ADMIN_KEY,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.base_url,
        "OTEL_SERVICE_NAME": "twelve-e2e",
        "OTEL_BSP_SCHEDULE_DELAY": str(mark.args[0] if mark else 100),
    }
    server = TwelveServer(env, tmp_path / "stderr.log")
    server.start()
    yield server
    server.stop()


def api_key(server: TwelveServer) -> str:
    with httpx.Client(
        base_url=f"{server.base_url}/admin/v1",
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ) as admin:
        customer = admin.post("/customers", json={"name": "otlp"}).json()
        key: str = admin.post("/keys", json={"customer_id": customer["id"]}).json()["key"]
        return key


def spans_of(receiver: FakeUpstream, trace_id: str, count: int) -> list[dict[str, Any]]:
    """The trace's spans once `count` of them arrived (within 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        spans = [s for r in receiver.requests for s in r.json if s["trace_id"] == trace_id]
        if len(spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.05)


def test_a_request_is_one_whole_trace_in_the_receiver(
    traced: TwelveServer, receiver: FakeUpstream
) -> None:
    trace_id = secrets.token_hex(16)
    parent = secrets.token_hex(8)
    with OpenAI(api_key=api_key(traced), base_url=f"{traced.base_url}/v1") as client:
        answer = client.chat.completions.create(
            model="echo",
            messages=[{"role": "user", "content": "one two three"}],
            extra_headers={"traceparent": f"00-{trace_id}-{parent}-01"},
        )
    assert answer.choices[0].message.content == "echo: one two three"

    spans = {s["name"]: s for s in spans_of(receiver, trace_id, 5)}
    root = f"POST {URL}"
    assert set(spans) == {root, "twelve.route", "chat gpt-echo", "post_processing", "response"}
    assert {s["service"] for s in spans.values()} == {"twelve-e2e"}
    assert spans[root]["parent_span_id"] == parent
    ids = {name: s["span_id"] for name, s in spans.items()}
    assert spans["twelve.route"]["parent_span_id"] == ids[root]
    assert spans["chat gpt-echo"]["parent_span_id"] == ids["twelve.route"]
    assert spans["post_processing"]["parent_span_id"] == ids[root]
    assert spans["response"]["parent_span_id"] == ids[root]
    call = spans["chat gpt-echo"]["attributes"]
    assert call["gen_ai.operation.name"] == "chat"
    assert call["gen_ai.request.model"] == call["gen_ai.response.model"] == "gpt-echo"
    assert call["gen_ai.provider.name"] == "openai"
    assert (call["gen_ai.usage.input_tokens"], call["gen_ai.usage.output_tokens"]) == (3, 4)
    assert spans["chat gpt-echo"]["duration_ns"] > 0
    assert receiver.requests[0].headers["content-type"] == "application/x-protobuf"


@pytest.mark.delay_ms(600_000)  # no batch is due before the server stops
def test_spans_still_batched_are_sent_when_the_server_stops(
    traced: TwelveServer, receiver: FakeUpstream
) -> None:
    key = api_key(traced)
    trace_id = secrets.token_hex(16)
    headers = {
        "Authorization": f"Bearer {key}",
        "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
    }
    body = {"model": "echo", "messages": [{"role": "user", "content": "last words"}]}
    response = httpx.post(f"{traced.base_url}{URL}", json=body, headers=headers)
    assert response.status_code == 200
    time.sleep(0.3)
    assert not [s for r in receiver.requests for s in r.json if s["trace_id"] == trace_id]
    assert traced.stop() in (0, -signal.SIGTERM)
    assert len(spans_of(receiver, trace_id, 5)) == 5
