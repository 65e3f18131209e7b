"""Rate limits end to end: `twelve serve` processes in front of the fake upstream.

Two gateway processes share one data directory (SQLite) and the real Redis at 127.0.0.1:6379: a
key with rpm=60 gets at most 60 of 120 rapid requests admitted between them, every other one an
OpenAI 429 with `Retry-After`. TPM and concurrency refuse the same way; a slot comes back when its
stream ends or its client hangs up; the official SDK's own retry waits for our `Retry-After`; the
access log names the key's id and customer, never the key.

Key limits are set through `POST /admin/v1/keys` (`rpm`, `tpm`, `max_concurrency`), which needs
the keys that store them; where they are not stored yet, these tests say so and skip.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion

from tests.e2e.server import TWELVE, TwelveServer, clean_env
from tests.e2e.stack import UPSTREAM_KEY, config_yaml
from tests.fakes.upstream import FakeUpstream
from tests.redis_server import REDIS_URL, need_redis

ADMIN_KEY = "twadmin-ratelimits-0123456789abcdef"
CHAT = {"model": "echo", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
# Two events of the echo, then the upstream hangs for a minute (the echo has more than two).
STALLED = CHAT | {
    "model": "stalling-long",
    "messages": [{"role": "user", "content": "one two three four"}],
    "stream": True,
}


@pytest.fixture(scope="module")
def limits_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def gateways(
    limits_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[TwelveServer]]:
    """Two gateway processes on one data directory and one Redis."""
    need_redis()
    root = tmp_path_factory.mktemp("ratelimits")
    config = root / "twelve.yaml"
    config.write_text(config_yaml(limits_upstream.base_url), encoding="utf-8")
    env = {
        "TWELVE_CONFIG": str(config),
        "TWELVE_DATA_DIR": str(root / "data"),
        "TWELVE_ADMIN_KEY": ADMIN_KEY,
        "TWELVE_REDIS_URL": REDIS_URL,
        "E2E_UPSTREAM_KEY": UPSTREAM_KEY,
        "TWELVE_GATEWAY_RETRIES": "0",
    }
    servers = [TwelveServer(env, Path(root / f"stderr-{n}.log")) for n in range(2)]
    try:
        for server in servers:  # one after the other: the first applies the migrations
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


_customers = iter(range(10**6))


def limited_key(server: TwelveServer, **limits: int) -> dict[str, Any]:
    """A new customer and a key with `limits`; skips when keys do not store limits."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=f"{server.base_url}/admin/v1", headers=admin) as client:
        customer = client.post("/customers", json={"name": f"limited-{next(_customers)}"})
        assert customer.status_code == 201, customer.text
        made = client.post("/keys", json={"customer_id": customer.json()["id"], **limits})
    if made.status_code == 201 and all(made.json().get(k) == v for k, v in limits.items()):
        issued: dict[str, Any] = made.json()
        return issued
    pytest.skip(f"keys do not store rate limits yet ({made.status_code}: {made.text[:200]})")


@pytest.fixture
async def clients(gateways: list[TwelveServer]) -> AsyncIterator[list[httpx.AsyncClient]]:
    opened = [httpx.AsyncClient(base_url=s.base_url, timeout=30) for s in gateways]
    yield opened
    for client in opened:
        await client.aclose()


def bearer(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['key']}"}


async def test_two_processes_share_one_rpm_limit(
    gateways: list[TwelveServer], clients: list[httpx.AsyncClient]
) -> None:
    key = limited_key(gateways[0], rpm=60)
    answers = await asyncio.gather(
        *(
            clients[n % 2].post("/v1/chat/completions", json=CHAT, headers=bearer(key))
            for n in range(120)
        )
    )
    admitted = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert len(admitted) <= 60
    assert len(admitted) >= 50  # both processes did admit: the limit was shared, not halved
    assert {a.status_code for a in refused} == {429}
    for answer in refused:
        error = answer.json()["error"]
        assert error["type"] == "requests" and error["code"] == "rate_limit_exceeded"
        assert f"key {key['id']}" in error["message"] and "Limit 60" in error["message"]
        assert int(answer.headers["retry-after"]) >= 1
        assert answer.headers["x-ratelimit-limit-requests"] == "60"
        assert answer.headers["x-ratelimit-remaining-requests"] == "0"
        assert answer.headers["x-ratelimit-reset-requests"].endswith("s")
    assert all(a.headers["x-ratelimit-limit-requests"] == "60" for a in admitted)
    remaining = sorted(int(a.headers["x-ratelimit-remaining-requests"]) for a in admitted)
    assert remaining == list(range(len(admitted)))  # each admission took exactly one


async def test_a_customers_limit_holds_across_its_keys(
    gateways: list[TwelveServer], clients: list[httpx.AsyncClient]
) -> None:
    admin, name = {"Authorization": f"Bearer {ADMIN_KEY}"}, f"shared-{next(_customers)}"
    made = await clients[0].post(
        "/admin/v1/customers", json={"name": name, "rpm": 2}, headers=admin
    )
    assert made.status_code == 201, made.text
    customer = made.json()
    keys = [
        await clients[0].post("/admin/v1/keys", json={"customer_id": name}, headers=admin)
        for _ in range(2)
    ]
    if any(k.status_code != 201 for k in keys):
        pytest.skip(f"keys cannot be made yet ({keys[0].status_code}: {keys[0].text[:200]})")
    first, second = (bearer(k.json()) for k in keys)
    answers = [
        await clients[0].post("/v1/chat/completions", json=CHAT, headers=first),
        await clients[1].post("/v1/chat/completions", json=CHAT, headers=second),
        await clients[1].post("/v1/chat/completions", json=CHAT, headers=first),
    ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert f"customer {customer['id']}" in answers[2].json()["error"]["message"]
    assert answers[1].headers["x-ratelimit-remaining-requests"] == "0"


async def test_tpm_refuses_as_tokens(
    gateways: list[TwelveServer], clients: list[httpx.AsyncClient]
) -> None:
    key = limited_key(gateways[0], tpm=100)
    first = await clients[0].post("/v1/chat/completions", json=CHAT, headers=bearer(key))
    assert first.status_code == 200, first.text
    assert first.headers["x-ratelimit-limit-tokens"] == "100"
    streamed = await clients[1].post(
        "/v1/chat/completions", json=CHAT | {"stream": True}, headers=bearer(key)
    )
    assert streamed.status_code == 200 and streamed.text.endswith("data: [DONE]\n\n")
    assert streamed.headers["x-ratelimit-limit-tokens"] == "100"  # streams carry them too
    assert int(streamed.headers["x-ratelimit-remaining-tokens"]) < 100
    big = CHAT | {"max_tokens": 90}
    refused = await clients[1].post("/v1/chat/completions", json=big, headers=bearer(key))
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "tokens"
    assert "tokens per min (TPM)" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) >= 1


async def test_concurrency_slots_come_back_when_a_stream_ends_or_its_client_leaves(
    gateways: list[TwelveServer], clients: list[httpx.AsyncClient]
) -> None:
    key = limited_key(gateways[0], max_concurrency=1)
    stalled = STALLED
    for hang_up in (True, False):
        body = stalled if hang_up else CHAT | {"stream": True}
        async with clients[0].stream(
            "POST", "/v1/chat/completions", json=body, headers=bearer(key)
        ) as stream:
            assert stream.status_code == 200
            if hang_up:
                # The first chunk, then the upstream stalls. (The iterator is kept: dropping
                # it would close the response, and so hang up.)
                chunks = stream.aiter_bytes()
                await anext(chunks)
                other = await clients[1].post(
                    "/v1/chat/completions", json=CHAT, headers=bearer(key)
                )
                assert other.status_code == 429
                assert "concurrent requests" in other.json()["error"]["message"]
                assert other.headers["retry-after"] == "1"
            else:
                await stream.aread()
        # Hung up (leaving the stream) or ended: the slot is given back just after.
        for _ in range(100):
            again = await clients[1].post("/v1/chat/completions", json=CHAT, headers=bearer(key))
            if again.status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert again.status_code == 200, again.text


def ask(sdk: openai.OpenAI) -> ChatCompletion:
    return sdk.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "hi"}], max_tokens=5
    )


def test_the_openai_sdk_sees_the_429_and_waits_our_retry_after(
    gateways: list[TwelveServer],
) -> None:
    key = limited_key(gateways[0], max_concurrency=1)
    base = f"{gateways[0].base_url}/v1"
    stalled = STALLED
    with httpx.Client(base_url=gateways[1].base_url, timeout=30) as raw:
        with raw.stream("POST", "/v1/chat/completions", json=stalled, headers=bearer(key)) as held:
            chunks = held.iter_bytes()  # kept: dropping it would hang up
            next(chunks)
            sdk = openai.OpenAI(api_key=key["key"], base_url=base, max_retries=0)
            with sdk, pytest.raises(openai.RateLimitError) as refused:
                ask(sdk)
            assert refused.value.status_code == 429
            assert refused.value.code == "rate_limit_exceeded"
            assert refused.value.response.headers["retry-after"] == "1"

            # With retries, the SDK waits the server's Retry-After (1 s; its own first backoff
            # is at most 0.5 s) and the retry finds the slot free.
            done: dict[str, Any] = {}

            def call() -> None:
                with openai.OpenAI(api_key=key["key"], base_url=base, max_retries=2) as sdk:
                    started = time.monotonic()
                    done["reply"] = ask(sdk)
                    done["seconds"] = time.monotonic() - started

            caller = threading.Thread(target=call)
            caller.start()
            time.sleep(0.3)
        # The held stream is closed here: its slot comes back while the SDK waits.
        caller.join(30)
    assert done["reply"].choices[0].message.content
    assert done["seconds"] >= 1.0


def test_the_access_log_names_key_customer_and_model(gateways: list[TwelveServer]) -> None:
    key = limited_key(gateways[0], rpm=1000)
    with httpx.Client(base_url=gateways[0].base_url, timeout=30) as client:
        answer = client.post("/v1/chat/completions", json=CHAT, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    line = gateways[0].wait_for_log(event="request", path="/v1/chat/completions", key_id=key["id"])
    assert line["customer_id"] == key["customer_id"] and line["model"] == "echo"
    assert key["key"] not in gateways[0].stderr()


def test_a_bad_redis_url_stops_the_server_naming_the_variable(tmp_path: Path) -> None:
    env = clean_env(
        {
            "TWELVE_DATA_DIR": str(tmp_path / "data"),
            "TWELVE_REDIS_URL": "http://user:hunter2@127.0.0.1:6379",
        }
    )
    ended = subprocess.run(
        [TWELVE, "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert ended.returncode == 2
    assert "configuration error: TWELVE_REDIS_URL: " in ended.stderr
    assert "hunter2" not in ended.stderr
