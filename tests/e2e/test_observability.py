"""What an operator sees: health and readiness, Prometheus metrics, request ids, W3C trace
context carried to the upstream, and JSON log lines that tie a request to its trace."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.server import TwelveServer
from tests.e2e.stack import sent_upstream, server_env
from tests.fakes.upstream import FakeUpstream


def metric(api: httpx.Client, name: str, **labels: str) -> float:
    """The sum of every sample of `name` whose labels include `labels` (0 when there is none)."""
    text = api.get("/metrics").text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def test_healthz(server: TwelveServer) -> None:
    response = httpx.get(f"{server.base_url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_database(server: TwelveServer) -> None:
    response = httpx.get(f"{server.base_url}/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["databases"]
    assert all(body["databases"].values()), body


def test_metrics_count_tokens_requests_and_upstream_time(api: httpx.Client) -> None:
    tokens_in = metric(api, "twelve_tokens_total", model="echo", direction="in")
    tokens_out = metric(api, "twelve_tokens_total", model="echo", direction="out")
    served = metric(api, "twelve_http_requests_total", route="/v1/chat/completions", status="200")
    body = {"model": "echo", "messages": [{"role": "user", "content": "one two three four"}]}
    assert api.post("/v1/chat/completions", json=body).status_code == 200

    assert metric(api, "twelve_tokens_total", model="echo", direction="in") == tokens_in + 4
    assert metric(api, "twelve_tokens_total", model="echo", direction="out") == tokens_out + 5
    assert (
        metric(api, "twelve_http_requests_total", route="/v1/chat/completions", status="200")
        == served + 1
    )
    assert metric(api, "twelve_upstream_seconds_count", model="echo") >= 1
    assert "text/plain" in api.get("/metrics").headers["content-type"]


def test_streams_are_metered_even_without_include_usage(api: httpx.Client) -> None:
    before = metric(api, "twelve_tokens_total", model="claude", direction="out")
    body = {
        "model": "claude",
        "messages": [{"role": "user", "content": "metered stream"}],
        "stream": True,
    }
    with api.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        response.read()
    assert metric(api, "twelve_tokens_total", model="claude", direction="out") == before + 3


def test_request_id_is_echoed_or_made(api: httpx.Client) -> None:
    assert (
        api.get("/v1/models", headers={"x-request-id": "e2e-req-42"}).headers["x-request-id"]
        == "e2e-req-42"
    )
    made = api.get("/v1/models").headers["x-request-id"]
    assert made
    assert made != "e2e-req-42"
    unsafe = api.get("/v1/models", headers={"x-request-id": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


def test_errors_carry_a_request_id(server: TwelveServer) -> None:
    response = httpx.get(f"{server.base_url}/v1/models")
    assert response.status_code == 401
    assert response.headers["x-request-id"]


def test_traceparent_is_continued_upstream(api: httpx.Client, upstream: FakeUpstream) -> None:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    marker = f"trace {secrets.token_hex(4)}"
    response = api.post(
        "/v1/chat/completions",
        json={"model": "echo", "messages": [{"role": "user", "content": marker}]},
        headers={"traceparent": f"00-{trace_id}-{parent_id}-01"},
    )
    assert response.status_code == 200
    version, sent_trace, sent_parent, flags = (
        sent_upstream(upstream, marker).headers["traceparent"].split("-")
    )
    assert (version, sent_trace, flags) == ("00", trace_id, "01")
    assert sent_parent != parent_id  # Twelve's own span is the upstream call's parent


def test_traceparent_is_continued_upstream_on_anthropic_streams(
    api: httpx.Client, upstream: FakeUpstream
) -> None:
    trace_id = secrets.token_hex(16)
    marker = f"trace {secrets.token_hex(4)}"
    body = {"model": "claude", "messages": [{"role": "user", "content": marker}], "stream": True}
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    with api.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
        response.read()
    assert sent_upstream(upstream, marker).headers["traceparent"].split("-")[1] == trace_id


def test_log_lines_are_json_with_request_and_trace_ids(
    api: httpx.Client, server: TwelveServer
) -> None:
    trace_id, request_id = secrets.token_hex(16), f"e2e-log-{secrets.token_hex(4)}"
    headers = {
        "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        "x-request-id": request_id,
    }
    body = {"model": "echo", "messages": [{"role": "user", "content": "log me"}]}
    assert api.post("/v1/chat/completions", json=body, headers=headers).status_code == 200

    line = server.wait_for_log(request_id=request_id, event="request")
    assert line["trace_id"] == trace_id
    assert line["status"] == 200
    assert line["path"] == "/v1/chat/completions"
    assert {"level", "timestamp", "duration_ms"} <= line.keys()


def test_logs_and_the_upstream_share_the_trace_twelve_starts(
    api: httpx.Client, server: TwelveServer, upstream: FakeUpstream
) -> None:
    request_id, marker = f"e2e-fresh-{secrets.token_hex(4)}", f"fresh {secrets.token_hex(4)}"
    body = {"model": "echo", "messages": [{"role": "user", "content": marker}]}
    response = api.post("/v1/chat/completions", json=body, headers={"x-request-id": request_id})
    assert response.status_code == 200

    trace_id = sent_upstream(upstream, marker).headers["traceparent"].split("-")[1]
    assert trace_id != "0" * 32
    assert server.wait_for_log(request_id=request_id, event="request")["trace_id"] == trace_id


def test_retry_warnings_carry_the_request_id(api: httpx.Client, server: TwelveServer) -> None:
    request_id = f"e2e-retry-{secrets.token_hex(4)}"
    body = {"model": "broken", "messages": [{"role": "user", "content": "fail me"}]}
    response = api.post("/v1/chat/completions", json=body, headers={"x-request-id": request_id})
    assert response.status_code == 502
    request = server.wait_for_log(request_id=request_id, event="request")
    warning = server.wait_for_log(request_id=request_id, event="upstream_failed")
    assert warning["level"] == "warning"
    assert warning["trace_id"] == request["trace_id"]
    assert "sk-e2e-upstream" not in server.stderr()


def test_every_log_line_after_the_banner_is_json(server: TwelveServer) -> None:
    """The few `Twelve: ...` lines at start-up are for people; everything else is JSON."""
    for line in server.stderr().splitlines():
        if line.startswith(("Twelve: ", "    ")) or not line.strip():
            continue
        assert isinstance(orjson.loads(line), dict), line
    assert "Traceback" not in server.stderr()


def finalised(api: httpx.Client, endpoint: str, outcome: str) -> float:
    return metric(api, "twelve_requests_finalised_total", endpoint=endpoint, outcome=outcome)


def test_each_request_is_finalised_once_by_how_it_ended(api: httpx.Client) -> None:
    def ask(model: str, **extra: object) -> httpx.Response:
        body = {"model": model, "messages": [{"role": "user", "content": "one two"}]} | extra
        return api.post("/v1/chat/completions", json=body)

    cases = [
        ("ok", lambda: ask("echo"), 200, False),
        ("upstream_error", lambda: ask("broken"), 502, True),
        ("stream_failed", lambda: ask("cut", stream=True), 200, True),
        ("refused", lambda: ask("no-such-model"), 404, False),
    ]
    for outcome, send, status, unknown_usage in cases:
        before = finalised(api, "chat_completions", outcome)
        unknown = metric(api, "twelve_usage_unknown_total", endpoint="chat_completions")
        assert send().status_code == status, outcome
        assert finalised(api, "chat_completions", outcome) == before + 1, outcome
        assert metric(api, "twelve_usage_unknown_total", endpoint="chat_completions") == (
            unknown + (1 if unknown_usage else 0)
        ), outcome
    before = finalised(api, "embeddings", "ok")
    assert api.post("/v1/embeddings", json={"model": "embed", "input": "x"}).status_code == 200
    assert finalised(api, "embeddings", "ok") == before + 1


def test_a_requests_log_line_names_who_what_where_and_how_it_went(
    api: httpx.Client, server: TwelveServer, api_key: str, customer: dict[str, object]
) -> None:
    request_id, trace_id = f"e2e-find-{secrets.token_hex(4)}", secrets.token_hex(16)
    headers = {
        "x-request-id": request_id,
        "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
    }
    body = {"model": "echo", "messages": [{"role": "user", "content": "find me"}]}
    response = api.post("/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 200

    line = server.wait_for_log(request_id=request_id, event="request")
    assert line["trace_id"] == trace_id
    assert line["customer_id"] == customer["id"]
    assert line["key_id"].startswith("key_")
    assert line["model"] == "echo"
    assert line["deployment"] == response.headers["x-twelve-deployment"]
    assert line["status"] == 200
    assert line["duration_ms"] > 0
    assert api_key not in server.stderr()  # the key's id, never the key


def test_console_logs_are_for_people(twelve_config: Path, tmp_path: Path, admin_key: str) -> None:
    env = server_env(twelve_config, tmp_path / "data") | {
        "TWELVE_ADMIN_KEY": admin_key,
        "TWELVE_LOG_FORMAT": "console",
    }
    console = TwelveServer(env, tmp_path / "stderr.log")
    console.start()
    try:
        response = httpx.get(f"{console.base_url}/healthz", headers={"x-request-id": "hi-1"})
        assert response.status_code == 200
    finally:
        console.stop()
    lines = [line for line in console.stderr().splitlines() if "request_id" in line]
    assert lines, console.stderr()
    assert not console.log_records()  # not one line is JSON
    assert "request_id=hi-1" in lines[-1] or "request_id='hi-1'" in lines[-1], lines[-1]
