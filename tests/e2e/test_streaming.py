"""Streams pass through as they arrive, and a client that leaves releases the upstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from openai import APITimeoutError, AsyncOpenAI

from tests.e2e.hanging_upstream import HangingUpstream
from tests.e2e.server import TwelveServer
from tests.e2e.stack import server_env
from tests.e2e.test_observability import metric

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
    return metric(api, "twelve_upstream_requests_total", deployment=deployment, outcome="cancelled")


def test_a_client_that_leaves_releases_the_upstream_call(api: httpx.Client) -> None:
    with api.stream("POST", CHAT, json=stream_request("stalling-long")) as response:
        assert response.status_code == 200
        deployment = response.headers["x-twelve-deployment"]
        before = cancelled_upstream_calls(api, deployment)
        next(response.iter_lines())  # one chunk in, then hang up mid-stream
    deadline = time.monotonic() + 5
    while cancelled_upstream_calls(api, deployment) <= before:
        assert time.monotonic() < deadline, "the upstream call outlived its client"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def hanging() -> Iterator[HangingUpstream]:
    upstream = HangingUpstream()
    upstream.start()
    try:
        yield upstream
    finally:
        upstream.stop()


@pytest.fixture(scope="module")
def hung_site(
    hanging: HangingUpstream, admin_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TwelveServer, str]]:
    """A server whose models all hang upstream, and a key for it."""
    root = tmp_path_factory.mktemp("hanging")
    lines = ["models:"]
    for name in ("hang-before", "hang-mid"):
        lines += [
            f"  - name: {name}",
            "    deployments:",
            "      - provider: openai",
            f"        base_url: {hanging.base_url}/v1",
            "        api_key: sk-hanging",
            f"        model: {name}",
            "        timeout: 60",
        ]
    (root / "twelve.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = server_env(root / "twelve.yaml", root / "data") | {"TWELVE_ADMIN_KEY": admin_key}
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{server.base_url}/admin/v1", headers=admin) as client:
        customer = client.post("/customers", json={"name": "hanging"}).json()
        key = client.post("/keys", json={"customer_id": customer["id"]}).json()["key"]
    yield server, key
    server.stop()


def gone(server: TwelveServer) -> float:
    with httpx.Client(base_url=server.base_url) as client:
        return metric(
            client,
            "twelve_requests_finalised_total",
            endpoint="chat_completions",
            outcome="client_gone",
        )


def usage_unknown(server: TwelveServer) -> float:
    with httpx.Client(base_url=server.base_url) as client:
        return metric(client, "twelve_usage_unknown_total", endpoint="chat_completions")


def wait_for_gone(server: TwelveServer, expected: float) -> None:
    deadline = time.monotonic() + 10
    while gone(server) < expected:
        assert time.monotonic() < deadline, f"finalised as gone: {gone(server)} of {expected}"
        time.sleep(0.05)
    time.sleep(0.2)
    assert gone(server) == expected  # once each, never twice


async def test_clients_leaving_mid_stream_release_every_upstream_call(
    hung_site: tuple[TwelveServer, str], hanging: HangingUpstream
) -> None:
    server, key = hung_site
    before, clients = gone(server), 8
    received, unknown = hanging.received, usage_unknown(server)

    async def read_one_chunk_and_leave(sdk: AsyncOpenAI) -> None:
        stream = await sdk.chat.completions.create(
            model="hang-mid", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        first = await anext(aiter(stream))
        assert first.choices[0].delta.content == "first "
        await stream.close()

    async with AsyncOpenAI(api_key=key, base_url=f"{server.base_url}/v1", max_retries=0) as sdk:
        await asyncio.gather(*(read_one_chunk_and_leave(sdk) for _ in range(clients)))
    assert hanging.received - received == clients
    await asyncio.to_thread(hanging.wait_until_released)
    await asyncio.to_thread(wait_for_gone, server, before + clients)
    assert usage_unknown(server) == unknown + clients  # no usage chunk ever came


@pytest.mark.parametrize("stream", [False, True])
async def test_a_client_leaving_before_the_first_byte_releases_the_upstream_call(
    hung_site: tuple[TwelveServer, str], hanging: HangingUpstream, stream: bool
) -> None:
    server, key = hung_site
    before = gone(server)
    base_url = f"{server.base_url}/v1"
    async with AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0, timeout=1.0) as sdk:
        with pytest.raises(APITimeoutError):
            await sdk.chat.completions.create(
                model="hang-before", messages=[{"role": "user", "content": "hi"}], stream=stream
            )
    await asyncio.to_thread(hanging.wait_until_released)
    await asyncio.to_thread(wait_for_gone, server, before + 1)
