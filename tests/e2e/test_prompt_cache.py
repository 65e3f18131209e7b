"""The prompt cache end to end: `twelve serve` in front of the fake upstream, driven by the
official `openai` SDK. Two identical requests reach the upstream once; the second is marked
`x-twelve-cache: hit`, costs nothing (or the configured fraction) and counts in the metric; a
streamed hit is a stream the SDK parses; a key with the cache off always misses; one customer
never gets another's entry; a stream cut mid-way is not kept."""

from __future__ import annotations

import asyncio
import inspect
import secrets
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from openai import APIError, AsyncOpenAI

from tests.e2e.server import TwelveServer, run_cli
from tests.e2e.stack import UPSTREAM_KEY
from tests.fakes.upstream import FakeUpstream

ADMIN_KEY = "twadmin-cache-0123456789abcdef0123"
PRICES = ["        input_cost_per_mtok: 1.0", "        output_cost_per_mtok: 2.0"]  # micros/token
# name -> (upstream model, cache line)
MODELS = {
    "cached": ("gpt-echo", "    cache: {ttl_seconds: 600}"),
    "cached-half": ("gpt-echo", "    cache: {ttl_seconds: 600, cost_fraction: 0.5}"),
    "cached-cut": ("cut-2", "    cache: {ttl_seconds: 600}"),
    "uncached": ("gpt-echo", ""),
    "cached-semantic": (
        "gpt-echo",
        "    cache: {ttl_seconds: 600, semantic_model: embed, semantic_threshold: 0.99}",
    ),
    "embed": ("embed-small", "    capabilities: [embeddings]"),
}


def config(upstream_url: str) -> str:
    lines = ["models:"]
    for name, (model, cache) in MODELS.items():
        lines += [f"  - name: {name}"]
        if cache:  # a cache, or (for `embed`) another model key
            lines.append(cache)
        lines += [
            "    deployments:",
            "      - provider: openai",
            f"        base_url: {upstream_url}/v1",
            "        api_key: ${E2E_UPSTREAM_KEY}",
            f"        model: {model}",
            "        timeout: 30",
            *PRICES,
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def server(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("cache")
    path = root / "twelve.yaml"
    path.write_text(config(upstream.base_url), encoding="utf-8")
    env = {
        "TWELVE_CONFIG": str(path),
        "TWELVE_DATA_DIR": str(root / "data"),
        "TWELVE_ADMIN_KEY": ADMIN_KEY,
        "E2E_UPSTREAM_KEY": UPSTREAM_KEY,
        "TWELVE_GATEWAY_RETRIES": "0",
    }
    server = TwelveServer(env, Path(root / "stderr.log"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def admin(server: TwelveServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=f"{server.base_url}/admin/v1", headers=headers) as c:
        return await c.request(method, path, **kwargs)


async def customer(server: TwelveServer, **key: Any) -> tuple[str, str, str]:
    """A new funded customer ($1) and a key: (customer id, key id, key)."""
    made = await admin(
        server, "POST", "/customers", json={"name": f"c-{secrets.token_hex(4)}", "credits": 1}
    )
    assert made.status_code == 201, made.text
    issued = await admin(server, "POST", "/keys", json={"customer_id": made.json()["id"], **key})
    assert issued.status_code == 201, issued.text
    return made.json()["id"], issued.json()["id"], issued.json()["key"]


async def balance(server: TwelveServer, customer_id: str) -> int:
    for _ in range(200):
        found = (await admin(server, "GET", f"/customers/{customer_id}")).json()
        if found["open_holds"] == 0:
            return int(found["balance_micros"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"holds still open: {found}")


async def usage_outcomes(server: TwelveServer, customer_id: str) -> list[str]:
    """The customer's usage rows' outcomes, oldest first, once the meter has written two."""
    database = Path(server.env["TWELVE_DATA_DIR"]) / "credits.db"
    for _ in range(100):
        with sqlite3.connect(database) as conn:
            rows = conn.execute(
                "SELECT outcome FROM usage WHERE customer_id = ? ORDER BY at", (customer_id,)
            ).fetchall()
        if len(rows) >= 2:
            return [row[0] for row in rows]
        await asyncio.sleep(0.05)
    raise AssertionError(f"usage rows: {rows}")


def calls(upstream: FakeUpstream, text: str) -> int:
    return sum(text in str(r.json) for r in upstream.requests)


def metric(server: TwelveServer, model: str, result: str) -> float:
    text = httpx.get(f"{server.base_url}/metrics").text
    line = f'twelve_cache_requests_total{{model="{model}",result="{result}"}}'
    for row in text.splitlines():
        if row.startswith(line):
            return float(row.split()[-1])
    return 0.0


@pytest.fixture
async def sdk(server: TwelveServer) -> AsyncIterator[tuple[str, AsyncOpenAI]]:
    customer_id, _key_id, key = await customer(server)
    async with AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0) as c:
        yield customer_id, c


async def parsed(raw: Any) -> Any:
    """The SDK's stream from a raw response (`parse` is a coroutine in some SDK versions)."""
    stream = raw.parse()
    return await stream if inspect.isawaitable(stream) else stream


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def test_a_repeat_is_answered_from_the_cache_for_nothing(
    server: TwelveServer, upstream: FakeUpstream, sdk: tuple[str, AsyncOpenAI]
) -> None:
    customer_id, client = sdk
    text = f"hello {secrets.token_hex(4)}"
    hits_before = metric(server, "cached", "hit")
    first = await client.chat.completions.with_raw_response.create(
        model="cached", messages=ask(text), max_tokens=50, temperature=0.2
    )
    assert first.headers["x-twelve-cache"] == "miss"
    after_first = await balance(server, customer_id)
    assert after_first == 1_000_000 - (2 + 2 * 3)  # 2 prompt words, "echo: hello x" 3 words
    second = await client.chat.completions.with_raw_response.create(
        model="cached", messages=ask(text), max_tokens=50, temperature=0.2, user="someone"
    )
    assert second.headers["x-twelve-cache"] == "hit"
    assert second.headers["x-twelve-attempts"] == "0"
    answer = second.parse()
    assert answer.choices[0].message.content == f"echo: {text}"
    assert answer.usage is not None and answer.usage.prompt_tokens_details is not None
    assert answer.usage.prompt_tokens_details.cached_tokens == 2
    assert calls(upstream, text) == 1
    assert await balance(server, customer_id) == after_first  # the hit cost nothing
    assert await usage_outcomes(server, customer_id) == ["ok", "cached"]
    assert metric(server, "cached", "hit") == hits_before + 1
    # Another parameter is another entry.
    third = await client.chat.completions.with_raw_response.create(
        model="cached", messages=ask(text), max_tokens=50, temperature=0.3
    )
    assert third.headers["x-twelve-cache"] == "miss"
    assert calls(upstream, text) == 2


async def test_a_hit_costs_the_configured_fraction(
    server: TwelveServer, upstream: FakeUpstream, sdk: tuple[str, AsyncOpenAI]
) -> None:
    customer_id, client = sdk
    text = f"half price {secrets.token_hex(4)}"
    for _ in range(2):
        await client.chat.completions.create(model="cached-half", messages=ask(text))
    full = 3 + 2 * 4  # 3 prompt words, 4 answer words
    assert await balance(server, customer_id) == 1_000_000 - full - full // 2 - full % 2
    assert calls(upstream, text) == 1


async def test_a_streamed_hit_is_replayed_as_a_stream(
    server: TwelveServer, upstream: FakeUpstream, sdk: tuple[str, AsyncOpenAI]
) -> None:
    _customer_id, client = sdk
    text = f"stream me please {secrets.token_hex(4)}"
    contents = []
    for expected in ("miss", "hit"):
        raw = await client.chat.completions.with_raw_response.create(
            model="cached",
            messages=ask(text),
            stream=True,
            stream_options={"include_usage": True},
        )
        assert raw.headers["x-twelve-cache"] == expected
        stream = await parsed(raw)
        pieces, usage = [], None
        async for chunk in stream:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
            if chunk.usage is not None:
                usage = chunk.usage
        contents.append("".join(pieces))
        assert usage is not None
    assert contents[0] == contents[1] == f"echo: {text}"
    assert calls(upstream, text) == 1
    # Without include_usage the replay leaves the usage chunk out, as a live stream does.
    stream = await client.chat.completions.create(model="cached", messages=ask(text), stream=True)
    assert [chunk.usage async for chunk in stream if chunk.usage is not None] == []
    assert calls(upstream, text) == 1


async def test_a_stream_cut_midway_is_not_kept(
    server: TwelveServer, upstream: FakeUpstream, sdk: tuple[str, AsyncOpenAI]
) -> None:
    _customer_id, client = sdk
    text = f"cut me off {secrets.token_hex(4)}"
    for _ in range(2):
        raw = await client.chat.completions.with_raw_response.create(
            model="cached-cut", messages=ask(text), stream=True
        )
        assert raw.headers["x-twelve-cache"] == "miss"
        with pytest.raises(APIError):  # the error event Twelve sends for a cut stream
            async for _chunk in await parsed(raw):
                pass
    assert calls(upstream, text) == 2


async def test_customers_never_share_an_entry(server: TwelveServer, upstream: FakeUpstream) -> None:
    text = f"same words {secrets.token_hex(4)}"
    for _ in range(2):
        _customer_id, _key_id, key = await customer(server)
        async with AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=key) as client:
            raw = await client.chat.completions.with_raw_response.create(
                model="cached", messages=ask(text)
            )
            assert raw.headers["x-twelve-cache"] == "miss"
    assert calls(upstream, text) == 2


async def test_a_key_with_the_cache_off_always_misses(
    server: TwelveServer, upstream: FakeUpstream
) -> None:
    _customer_id, key_id, key = await customer(server, cache=False)
    text = f"never cached {secrets.token_hex(4)}"
    async with AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=key) as client:
        for _ in range(2):
            raw = await client.chat.completions.with_raw_response.create(
                model="cached", messages=ask(text)
            )
            assert raw.headers["x-twelve-cache"] == "miss"
        assert calls(upstream, text) == 2
        turned_on = await admin(server, "PATCH", f"/keys/{key_id}", json={"cache": True})
        assert turned_on.status_code == 200 and turned_on.json()["cache"] is True
        await asyncio.sleep(1.2)  # the key cache's time
        for expected in ("miss", "hit"):
            raw = await client.chat.completions.with_raw_response.create(
                model="cached", messages=ask(text)
            )
            assert raw.headers["x-twelve-cache"] == expected
    assert calls(upstream, text) == 3


async def test_a_model_without_a_cache_has_no_header(
    server: TwelveServer, sdk: tuple[str, AsyncOpenAI]
) -> None:
    _customer_id, client = sdk
    raw = await client.chat.completions.with_raw_response.create(
        model="uncached", messages=ask("plain")
    )
    assert "x-twelve-cache" not in raw.headers


async def test_a_semantic_match_is_a_hit(
    server: TwelveServer, upstream: FakeUpstream, sdk: tuple[str, AsyncOpenAI]
) -> None:
    """The same words as plain text and as a text part: two exact keys, one embedding."""
    _customer_id, client = sdk
    text = f"semantic twins {secrets.token_hex(4)}"
    first = await client.chat.completions.with_raw_response.create(
        model="cached-semantic", messages=ask(text)
    )
    assert first.headers["x-twelve-cache"] == "miss"
    parts = [{"role": "user", "content": [{"type": "text", "text": text}]}]
    second = await client.chat.completions.with_raw_response.create(
        model="cached-semantic",
        messages=parts,  # type: ignore[arg-type]
    )
    assert second.headers["x-twelve-cache"] == "hit"
    assert second.parse().choices[0].message.content == f"echo: {text}"
    chats = [r for r in upstream.requests if text in str(r.json) and "messages" in (r.json or {})]
    assert len(chats) == 1
    other = await client.chat.completions.with_raw_response.create(
        model="cached-semantic", messages=ask(f"something else {secrets.token_hex(4)}")
    )
    assert other.headers["x-twelve-cache"] == "miss"


@pytest.mark.parametrize("value", ["yes", None, 1, {"on": True}])
async def test_a_bad_cache_value_is_a_400(server: TwelveServer, value: Any) -> None:
    _customer_id, key_id, _key = await customer(server)
    answer = await admin(server, "PATCH", f"/keys/{key_id}", json={"cache": value})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "cache"


async def test_the_cli_turns_the_cache_off_and_on(server: TwelveServer) -> None:
    customer_id, _key_id, _key = await customer(server)
    made = run_cli(
        "keys", "create", "--customer", customer_id, "--no-cache", "--json", env=server.env
    )
    assert made.returncode == 0, made.stderr
    issued = orjson.loads(made.stdout)
    assert issued["cache"] is False
    changed = run_cli("keys", "update", issued["id"], "--cache", "--json", env=server.env)
    assert changed.returncode == 0, changed.stderr
    assert orjson.loads(changed.stdout)["cache"] is True
    shown = await admin(server, "GET", f"/keys/{issued['id']}")
    assert shown.json()["cache"] is True
