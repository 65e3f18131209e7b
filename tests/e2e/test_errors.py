"""Every error a client can meet, in OpenAI's exact shape: authentication, permissions, unknown
models, malformed bodies, size limits and upstream failures. None carries a stack trace."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import AuthenticationError, NotFoundError, OpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.e2e.server import TwelveServer
from tests.e2e.stack import MAX_BODY_BYTES, IssueKey, server_env
from tests.e2e.wire import assert_openai_error

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def anonymous(server: TwelveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def chat(client: httpx.Client, key: str | None = None, **body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post("/v1/chat/completions", json={"messages": HELLO} | body, headers=headers)


@pytest.mark.parametrize("path", ["/v1/models", "/v1/chat/completions", "/v1/embeddings"])
def test_missing_key_is_401(anonymous: httpx.Client, path: str) -> None:
    response = anonymous.request("GET" if path == "/v1/models" else "POST", path, json={})
    assert_openai_error(response, 401, "authentication_error")


@pytest.mark.parametrize(
    "authorization", ["Bearer tw-not-a-real-key", "Basic dXNlcjpwYXNz", "tw-x"]
)
def test_bad_key_is_401(anonymous: httpx.Client, authorization: str) -> None:
    response = anonymous.get("/v1/models", headers={"Authorization": authorization})
    assert_openai_error(response, 401, "authentication_error")


def test_bad_key_through_the_sdk(server: TwelveServer) -> None:
    sdk = OpenAI(api_key="tw-wrong", base_url=f"{server.base_url}/v1", max_retries=0)
    with sdk, pytest.raises(AuthenticationError) as raised:
        sdk.models.list()
    assert raised.value.status_code == 401


def test_admin_api_needs_the_admin_key(anonymous: httpx.Client) -> None:
    response = anonymous.post("/admin/v1/customers", json={"name": "nobody"})
    assert_openai_error(response, 401, "authentication_error")


def test_admin_api_errors(admin: httpx.Client, customer: dict[str, Any]) -> None:
    response = admin.post("/keys", json={"customer_id": "cus_nope", "name": "k"})
    assert_openai_error(response, 404, "invalid_request_error", param="customer_id")
    assert_openai_error(
        admin.post("/customers", json={}), 400, "invalid_request_error", param="name"
    )
    assert_openai_error(admin.delete("/keys/key_nope"), 404, "invalid_request_error")
    empty = admin.post("/keys", json={"customer_id": customer["id"], "name": "k", "models": []})
    assert_openai_error(empty, 400, "invalid_request_error", param="models")


def test_customer_key_cannot_use_the_admin_api(anonymous: httpx.Client, api_key: str) -> None:
    response = anonymous.get("/admin/v1/keys", headers={"Authorization": f"Bearer {api_key}"})
    assert_openai_error(response, 401, "authentication_error")


def test_revoked_key_is_refused_at_once(
    anonymous: httpx.Client, admin: httpx.Client, issue_key: IssueKey
) -> None:
    issued = issue_key("to-revoke")
    assert issued["key"].startswith("tw-")
    assert issued["prefix"] == issued["key"][: len(issued["prefix"])]
    # Used once first, so the key is in the server's authentication cache when it is revoked.
    assert chat(anonymous, issued["key"], model="echo").status_code == 200

    revoked = admin.delete(f"/keys/{issued['id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert "key" not in revoked.json()

    started = time.monotonic()
    assert_openai_error(chat(anonymous, issued["key"], model="echo"), 401, "authentication_error")
    assert time.monotonic() - started < 1.0
    listed = {k["id"]: k for k in admin.get("/keys").json()["data"]}
    assert listed[issued["id"]]["revoked_at"] is not None


def test_admin_lists_keys_without_secrets(admin: httpx.Client, api_key: str) -> None:
    response = admin.get("/keys")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert body["data"]
    assert api_key not in response.text
    assert all("key" not in k for k in body["data"])


def test_allow_list_hides_other_models_as_404(server: TwelveServer, issue_key: IssueKey) -> None:
    key = issue_key("echo-only", models=["echo"])["key"]
    with OpenAI(api_key=key, base_url=f"{server.base_url}/v1", max_retries=0) as sdk:
        assert [m.id for m in sdk.models.list()] == ["echo"]
        assert sdk.chat.completions.create(model="echo", messages=HELLO).choices
        with pytest.raises(NotFoundError):
            sdk.chat.completions.create(model="claude", messages=HELLO)
    with httpx.Client(base_url=server.base_url) as raw:
        response = chat(raw, key, model="claude")
    assert_openai_error(response, 404, "invalid_request_error", param="model")


@pytest.mark.parametrize("stream", [False, True])
def test_errors_before_a_stream_are_plain_json(
    api: httpx.Client, issue_key: IssueKey, stream: bool
) -> None:
    assert_openai_error(chat(api, model="nope", stream=stream), 404, "invalid_request_error")
    limited = issue_key("echo-only-stream", models=["echo"])["key"]
    with httpx.Client(base_url=str(api.base_url)) as raw:
        response = chat(raw, limited, model="claude", stream=stream)
    assert_openai_error(response, 404, "invalid_request_error", param="model")


def test_unknown_model_is_404(api: httpx.Client, client: OpenAI) -> None:
    error = assert_openai_error(
        chat(api, model="no-such-model"), 404, "invalid_request_error", param="model"
    )
    assert error["code"] == "model_not_found"
    with pytest.raises(NotFoundError):
        client.embeddings.create(model="no-such-model", input="x")


def test_model_without_the_capability_is_400(api: httpx.Client) -> None:
    response = api.post("/v1/embeddings", json={"model": "claude", "input": "x"})
    assert_openai_error(response, 400, "invalid_request_error", param="model")


def test_unknown_route_is_404(api: httpx.Client) -> None:
    assert_openai_error(api.get("/v1/nothing-here"), 404, "invalid_request_error")


CHAT, COMPLETIONS, EMBEDDINGS = "/v1/chat/completions", "/v1/completions", "/v1/embeddings"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (
            CHAT,
            {"model": "echo", "messages": [{"role": "wizard", "content": "x"}]},
            "messages[0].role",
        ),
        (
            CHAT,
            {"model": "echo", "messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
        ),
        (CHAT, {"model": "echo"}, "messages"),
        (CHAT, {"messages": HELLO}, "model"),
        (CHAT, {"model": "echo", "messages": "hello"}, "messages"),
        (CHAT, {"model": 7, "messages": HELLO}, "model"),
        (CHAT, {"model": "echo", "messages": HELLO, "stream": "yes"}, "stream"),
        (COMPLETIONS, {"model": "echo", "prompt": 5}, "prompt"),
        (EMBEDDINGS, {"model": "embed", "input": None}, "input"),
        (EMBEDDINGS, {"model": "embed", "input": "x", "encoding_format": "hex"}, "encoding_format"),
    ],
)
def test_invalid_body_is_400_naming_the_field(
    api: httpx.Client, path: str, body: dict[str, Any], param: str
) -> None:
    response = api.post(path, json=body)
    assert_openai_error(response, 400, "invalid_request_error", param=param)


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b"[1, 2]", b'"text"', b"\xff\xfe\x00", b'{"model": "echo", "messages": ['],
)
def test_malformed_json_is_400(api: httpx.Client, content: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    response = api.post("/v1/chat/completions", content=content, headers=headers)
    assert_openai_error(response, 400, "invalid_request_error")


def test_body_over_the_limit_is_413(api: httpx.Client) -> None:
    padding = "x" * (MAX_BODY_BYTES + 1)
    response = api.post(
        "/v1/chat/completions", json={"model": "echo", "messages": HELLO, "user": padding}
    )
    assert_openai_error(response, 413, "invalid_request_error")


@pytest.mark.parametrize(
    ("client_fixture", "path", "start"),
    [
        ("api", "/v1/chat/completions", b'{"model": "echo", "messages": [], "user": "'),
        # FastAPI-parsed bodies (the admin API) used to answer 400 when the limit hit mid-read.
        ("admin", "/customers", b'{"name": "'),
    ],
)
def test_chunked_body_over_the_limit_is_413(
    request: pytest.FixtureRequest, client_fixture: str, path: str, start: bytes
) -> None:
    """Without a Content-Length the limit is enforced while the body arrives, on every route."""
    client: httpx.Client = request.getfixturevalue(client_fixture)

    def body() -> Iterator[bytes]:
        yield start
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    response = client.post(path, content=body())
    assert_openai_error(response, 413, "invalid_request_error")


def test_body_just_under_the_limit_is_served(api: httpx.Client) -> None:
    padding = "x" * (MAX_BODY_BYTES - 200)
    response = api.post(
        "/v1/chat/completions", json={"model": "echo", "messages": HELLO, "user": padding}
    )
    assert response.status_code == 200, response.text


def test_upstream_failure_is_502(api: httpx.Client) -> None:
    error = assert_openai_error(chat(api, model="broken"), 502, "upstream_error")
    assert "500" in error["message"]


def test_upstream_failure_before_a_stream_is_a_json_502(api: httpx.Client) -> None:
    response = chat(api, model="broken", stream=True)
    assert_openai_error(response, 502, "upstream_error")


def test_upstream_timeout_is_504(api: httpx.Client) -> None:
    started = time.monotonic()
    assert_openai_error(chat(api, model="slow"), 504, "timeout_error")
    # Two tries of 0.3 s each (one retry), not the upstream's 3 s.
    assert time.monotonic() - started < 2.5


def test_upstream_4xx_is_passed_through(api: httpx.Client) -> None:
    error = assert_openai_error(chat(api, model="rejecting"), 400, "invalid_request_error")
    assert error["message"] == "The fake upstream failed with HTTP 400 as asked."


def test_upstream_4xx_from_anthropic_is_passed_through(api: httpx.Client) -> None:
    error = assert_openai_error(chat(api, model="claude-rejecting"), 400, "invalid_request_error")
    assert error["message"] == "The fake upstream failed with HTTP 400 as asked."


def test_upstream_rate_limit_is_429_with_retry_after(api: httpx.Client) -> None:
    response = chat(api, model="limited")
    assert_openai_error(response, 429, "rate_limit_error")
    assert response.headers["retry-after"] == "1"


def test_upstream_context_length_error_keeps_its_code(api: httpx.Client) -> None:
    error = assert_openai_error(chat(api, model="too-long"), 400, "invalid_request_error")
    assert (error["code"], error["param"]) == ("context_length_exceeded", "messages")


def test_upstream_key_never_leaks(api: httpx.Client) -> None:
    for model in ("broken", "rejecting"):
        assert "sk-e2e-upstream" not in chat(api, model=model).text


def test_an_unbuilt_route_says_so(api: httpx.Client) -> None:
    response = api.post("/v1/images/edits", json={"prompt": "a cat"})
    assert_openai_error(response, 404, "invalid_request_error")
    assert "not available in this version" in response.json()["error"]["message"]


def test_a_wrong_internal_key_is_503_for_clients_not_their_401(
    twelve_config: Path, admin_key: str, tmp_path: Path
) -> None:
    """The edge process holds another internal key than the workers: clients must not be told
    their own API key is wrong, and the operator gets one log line naming the setting."""
    modules = ("models", "chat", "completion", "embeddings")
    workers = TwelveServer(
        server_env(twelve_config, tmp_path / "w")
        | {"TWELVE_MODULES": ",".join(modules), "TWELVE_INTERNAL_KEY": "a" * 40},
        tmp_path / "workers.log",
    )
    edge_env = {
        "TWELVE_DATA_DIR": str(tmp_path / "e"),
        "TWELVE_MODULES": "gateway,admin,credits,storage",
        "TWELVE_INTERNAL_KEY": "b" * 40,
        "TWELVE_ADMIN_KEY": admin_key,
    }
    workers.start()
    try:
        edge_env |= {f"TWELVE_{m.upper()}_URL": workers.base_url for m in modules}
        # Not ready by design: /readyz reports the refused key, so wait for /healthz.
        edge = TwelveServer(edge_env, tmp_path / "edge.log", ready_path="/healthz")
        edge.start()
        try:
            with httpx.Client(base_url=edge.base_url, timeout=30) as client:
                admin = {"Authorization": f"Bearer {admin_key}"}
                customer = client.post("/admin/v1/customers", json={"name": "k"}, headers=admin)
                key = client.post(
                    "/admin/v1/keys", json={"customer_id": customer.json()["id"]}, headers=admin
                ).json()["key"]
                for _ in range(2):
                    response = chat(client, key, model="echo")
                    assert_openai_error(response, 503, "service_unavailable")
                    assert response.json()["error"]["code"] == "module_unavailable"
            edge.stop()
            refusals = [r for r in edge.log_records() if r.get("event") == "module_unavailable"]
            assert len(refusals) == 1 and "TWELVE_INTERNAL_KEY" in refusals[0]["hint"]
        finally:
            edge.stop()
    finally:
        workers.stop()
