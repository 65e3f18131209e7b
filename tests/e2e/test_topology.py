"""Several processes instead of one: `--modules` splits the platform, and a client cannot tell.

`workers` serves models, chat, completion, embeddings and storage; `edge` serves gateway, admin
and credits and reaches the workers through their internal routes (TWELVE_<MODULE>_URL,
TWELVE_INTERNAL_KEY);
`back_office` serves admin alone, reaching credits and the keys on the edge and models on the
workers. Every cross-process call goes through clients and routes generated from each module's
`api.py` Protocol.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from openai import OpenAI

from tests.e2e.server import TwelveServer
from tests.e2e.stack import MAX_BODY_BYTES, sent_upstream, server_env
from tests.e2e.test_otlp_traces import spans_of
from tests.e2e.wire import sse_data
from tests.fakes.otlp_receiver import otlp_app
from tests.fakes.upstream import FakeUpstream

WORKER_MODULES = ("models", "chat", "completion", "embeddings", "storage")
INTERNAL_KEY = "twinternal-e2e-" + secrets.token_urlsafe(16)


def serve(
    tmp_path_factory: pytest.TempPathFactory, name: str, env: dict[str, str]
) -> Iterator[TwelveServer]:
    """One process of the split deployment, with its own data dir and the internal key."""
    root = tmp_path_factory.mktemp(name)
    full = {"TWELVE_DATA_DIR": str(root / "data"), "TWELVE_INTERNAL_KEY": INTERNAL_KEY} | env
    server = TwelveServer(full, root / "stderr.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[FakeUpstream]:
    """An OTLP/HTTP receiver both processes export their spans to."""
    with FakeUpstream(app=otlp_app) as fake:
        yield fake


def exporting(receiver: FakeUpstream, service: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.base_url,
        "OTEL_SERVICE_NAME": service,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }


@pytest.fixture(scope="module")
def workers(
    twelve_config: Path, tmp_path_factory: pytest.TempPathFactory, receiver: FakeUpstream
) -> Iterator[TwelveServer]:
    data = tmp_path_factory.mktemp("workers-data")
    env = server_env(twelve_config, data) | {"TWELVE_MODULES": ",".join(WORKER_MODULES)}
    yield from serve(tmp_path_factory, "workers", env | exporting(receiver, "twelve-workers"))


@pytest.fixture(scope="module")
def edge(
    workers: TwelveServer,
    admin_key: str,
    tmp_path_factory: pytest.TempPathFactory,
    receiver: FakeUpstream,
) -> Iterator[TwelveServer]:
    env = (
        exporting(receiver, "twelve-edge")
        | {
            "TWELVE_MODULES": "gateway,admin,credits",
            "TWELVE_ADMIN_KEY": admin_key,
            "TWELVE_GATEWAY_RETRIES": "1",
            "TWELVE_GATEWAY_RETRY_BACKOFF_SECONDS": "0.01",
        }
        | {f"TWELVE_{m.upper()}_URL": workers.base_url for m in WORKER_MODULES}
    )
    yield from serve(tmp_path_factory, "edge", env)


@pytest.fixture(scope="module")
def edge_api(edge: TwelveServer, admin_key: str) -> Iterator[httpx.Client]:
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=edge.base_url, timeout=30) as client:
        customer = client.post("/admin/v1/customers", json={"name": "split"}, headers=admin)
        key = client.post(
            "/admin/v1/keys", json={"customer_id": customer.json()["id"]}, headers=admin
        )
        client.headers["Authorization"] = f"Bearer {key.json()['key']}"
        yield client


def test_the_openai_sdk_works_through_a_split_deployment(
    edge: TwelveServer, edge_api: httpx.Client
) -> None:
    key = edge_api.headers["Authorization"].removeprefix("Bearer ")
    with OpenAI(api_key=key, base_url=f"{edge.base_url}/v1", max_retries=0) as sdk:
        assert {m.id for m in sdk.models.list()} >= {"echo", "claude", "embed"}
        reply = sdk.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "across processes"}]
        )
        assert reply.choices[0].message.content == "echo: across processes"
        chunks = list(
            sdk.chat.completions.create(
                model="echo",
                messages=[{"role": "user", "content": "one two"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "echo: one two"
        assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
        vectors = sdk.embeddings.create(model="embed", input=["a", "b"])
        assert len(vectors.data) == 2


def test_fallback_and_errors_cross_the_process_boundary(edge_api: httpx.Client) -> None:
    hello = [{"role": "user", "content": "split route"}]
    fallback = edge_api.post("/v1/chat/completions", json={"model": "fallback", "messages": hello})
    assert fallback.status_code == 200, fallback.text
    assert fallback.headers["x-twelve-deployment"] == "fallback/openai/echo-backup"
    assert fallback.headers["x-twelve-attempts"] == "3"

    rejected = edge_api.post("/v1/chat/completions", json={"model": "rejecting", "messages": hello})
    assert rejected.status_code == 400
    assert rejected.json()["error"]["type"] == "invalid_request_error"
    broken = edge_api.post("/v1/chat/completions", json={"model": "broken", "messages": hello})
    assert broken.status_code == 502
    unknown = edge_api.post("/v1/chat/completions", json={"model": "nope", "messages": hello})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found"

    cut = edge_api.post(
        "/v1/chat/completions", json={"model": "cut", "messages": hello, "stream": True}
    )
    last = orjson.loads(sse_data(cut)[-1])
    assert last["error"]["type"] == "upstream_error"  # the break reached the client, no [DONE]


def test_one_trace_spans_both_processes_and_the_upstream(
    edge_api: httpx.Client, upstream: FakeUpstream, receiver: FakeUpstream
) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    marker = f"trace {secrets.token_hex(4)}"
    response = edge_api.post(
        "/v1/chat/completions",
        json={"model": "echo", "messages": [{"role": "user", "content": marker}]},
        headers={"traceparent": traceparent},
    )
    assert response.status_code == 200
    received = sent_upstream(upstream, marker).headers["traceparent"]
    assert received.split("-")[1] == trace_id

    # Both processes exported their spans of it: the workers' continue the edge's.
    spans = spans_of(receiver, trace_id, 8)
    by_id = {s["span_id"]: s for s in spans}
    services = {s["service"] for s in spans}
    assert services == {"twelve-edge", "twelve-workers"}, spans
    call = next(s for s in spans if s["name"] == "chat gpt-echo")
    assert call["service"] == "twelve-workers"
    chain = []
    span = call
    while span["parent_span_id"] in by_id:
        span = by_id[span["parent_span_id"]]
        chain.append((span["service"], span["name"]))
    assert ("twelve-edge", "twelve.route") in chain, chain
    assert chain[-1] == ("twelve-edge", "POST /v1/chat/completions"), chain


def test_internal_routes_need_the_internal_key(workers: TwelveServer) -> None:
    url = f"{workers.base_url}/internal/models/list_models"
    assert httpx.post(url, json={}).status_code == 401
    assert httpx.post(url, json={}, headers={"x-twelve-internal-key": "wrong"}).status_code == 401
    listed = httpx.post(url, json={}, headers={"x-twelve-internal-key": INTERNAL_KEY})
    assert listed.status_code == 200
    assert "echo" in {card["id"] for card in listed.json()}
    # The workers serve no public API of their own.
    assert httpx.get(f"{workers.base_url}/v1/models").status_code == 404


def test_the_monolith_has_no_internal_routes(server: TwelveServer) -> None:
    url = f"{server.base_url}/internal/models/list_models"
    assert httpx.post(url, json={}, headers={"x-twelve-internal-key": ""}).status_code == 404


@pytest.fixture(scope="module")
def back_office(
    workers: TwelveServer,
    edge: TwelveServer,
    admin_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TwelveServer]:
    env = {
        "TWELVE_MODULES": "admin",
        "TWELVE_ADMIN_KEY": admin_key,
        "TWELVE_GATEWAY_URL": edge.base_url,
        "TWELVE_CREDITS_URL": edge.base_url,
        "TWELVE_MODELS_URL": workers.base_url,
    }
    yield from serve(tmp_path_factory, "back-office", env)


def test_admin_in_its_own_process_issues_and_revokes_keys_on_the_edge(
    back_office: TwelveServer, edge: TwelveServer, admin_key: str
) -> None:
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{back_office.base_url}/admin/v1", headers=admin) as office:
        customer = office.post("/customers", json={"name": "remote-office"})
        assert customer.status_code == 201, customer.text
        issued = office.post("/keys", json={"customer_id": "remote-office", "models": ["echo"]})
        assert issued.status_code == 201, issued.text
        # Errors raised by a port in another process reach the admin client as they were raised.
        assert office.post("/keys", json={"customer_id": "nobody"}).status_code == 404
        refused = office.post("/keys", json={"customer_id": "remote-office", "models": ["nope"]})
        assert refused.status_code == 400
        ready = httpx.get(f"{back_office.base_url}/readyz")
        assert ready.json()["modules"] == {"gateway": "ok", "credits": "ok", "models": "ok"}

        key = {"Authorization": f"Bearer {issued.json()['key']}"}
        hello = {"model": "echo", "messages": [{"role": "user", "content": "office"}]}
        chat = httpx.post(f"{edge.base_url}/v1/chat/completions", json=hello, headers=key)
        assert chat.status_code == 200, chat.text
        assert office.delete(f"/keys/{issued.json()['id']}").status_code == 200
        # The keys port is the edge's own: the revocation is seen there at once.
        chat = httpx.post(f"{edge.base_url}/v1/chat/completions", json=hello, headers=key)
        assert chat.status_code == 401
        # The models view: configuration and health from the workers, routing from the edge.
        view = office.get("/models")
        assert view.status_code == 200, view.text
        echo = next(m for m in view.json()["data"] if m["id"] == "echo")
        assert echo["deployments"][0]["breaker"]["state"] == "closed"
        assert echo["deployments"][0]["latency_seconds"] is not None  # the edge routed to it
    edge.wait_for_log(path="/internal/gateway/create_key", status=200)
    edge.wait_for_log(path="/internal/gateway/deployment_states", status=200)


def hops(server: TwelveServer, trace_id: str) -> list[str]:
    """The internal routes `server` answered for one trace, in order."""
    return [
        r["path"]
        for r in server.log_records()
        if r.get("trace_id") == trace_id and str(r.get("path", "")).startswith("/internal/")
    ]


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_crosses_the_process_boundary_once_for_its_feature(
    edge_api: httpx.Client, workers: TwelveServer, stream: bool
) -> None:
    trace_id = secrets.token_hex(16)
    response = edge_api.post(
        "/v1/chat/completions",
        json={"model": "echo", "messages": [{"role": "user", "content": "hop"}], "stream": stream},
        headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
    )
    assert response.status_code == 200
    feature = "/internal/chat/stream" if stream else "/internal/chat/complete"
    workers.wait_for_log(path=feature, trace_id=trace_id)
    seen = hops(workers, trace_id)
    # One call for the feature; chat reaches models inside the workers, not through the edge.
    # The routing plan is the one other hop today (the gateway's plan cache removes it).
    assert seen.count(feature) == 1
    assert set(seen) <= {feature, "/internal/models/plan"}
    assert seen.count("/internal/models/plan") <= 1


def test_files_cross_the_process_boundary_a_chunk_at_a_time(
    edge: TwelveServer, edge_api: httpx.Client, workers: TwelveServer
) -> None:
    """Storage on the workers: an upload of several chunks (each larger than the workers'
    body limit once base64-encoded) and its download go through the generated client."""
    key = edge_api.headers["Authorization"].removeprefix("Bearer ")
    content = secrets.token_bytes(2 * 1024 * 1024 + 5)
    with OpenAI(api_key=key, base_url=f"{edge.base_url}/v1", max_retries=0) as sdk:
        created = sdk.files.create(file=("remote.bin", content), purpose="batch")
        assert sdk.files.content(created.id).content == content
        assert [f.id for f in sdk.files.list()] == [created.id]
        assert sdk.files.delete(created.id).deleted
    appended = [
        r for r in workers.log_records() if r.get("path") == "/internal/storage/append_upload"
    ]
    assert len(appended) == 3 and {r["status"] for r in appended} == {200}
    assert MAX_BODY_BYTES < 1024 * 1024  # a chunk needs the route's own bound on the workers
    workers.wait_for_log(path="/internal/storage/read_chunks", status=200)
