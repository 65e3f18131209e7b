"""The prompt cache shared through Redis: a second `twelve serve` process hits what the first
stored, under the documented key with its TTL; Redis down is a miss and one warning, never an
error to the client."""

from __future__ import annotations

import secrets
from pathlib import Path

from openai import AsyncOpenAI
from redis.asyncio import Redis

from tests.e2e.server import TwelveServer, free_port
from tests.e2e.stack import UPSTREAM_KEY
from tests.e2e.test_prompt_cache import ADMIN_KEY, ask, calls, config, customer
from tests.fakes.upstream import FakeUpstream
from tests.redis_server import REDIS_URL, need_redis
from twelve.modules.gateway.cache_key import cache_key


def start(upstream: FakeUpstream, root: Path, **extra: str) -> TwelveServer:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "twelve.yaml"
    path.write_text(config(upstream.base_url), encoding="utf-8")
    env = {
        "TWELVE_CONFIG": str(path),
        "TWELVE_DATA_DIR": str(root / "data"),
        "TWELVE_ADMIN_KEY": ADMIN_KEY,
        "E2E_UPSTREAM_KEY": UPSTREAM_KEY,
        **extra,
    }
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    return server


async def test_with_redis_a_second_gateway_process_hits(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    need_redis()
    database = f"{tmp_path}/shared.db"  # both processes share the keys and credits
    shared = {
        "TWELVE_REDIS_URL": REDIS_URL,
        "TWELVE_GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{database}-gateway",
        "TWELVE_CREDITS_DATABASE_URL": f"sqlite+aiosqlite:///{database}-credits",
    }
    first = start(upstream, tmp_path / "one", **shared)
    try:
        second = start(upstream, tmp_path / "two", **shared)
        try:
            customer_id, _key_id, key = await customer(first)
            text = f"shared by processes {secrets.token_hex(4)}"
            seen = []
            for server in (first, second):
                async with AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=key) as client:
                    raw = await client.chat.completions.with_raw_response.create(
                        model="cached", messages=ask(text)
                    )
                    seen.append(raw.headers["x-twelve-cache"])
            assert seen == ["miss", "hit"]
            assert calls(upstream, text) == 1
            # The entry is in Redis under the documented name (and is removed, as tests must).
            entry = "twelve:cache:" + cache_key(
                customer_id, "chat_completions", {"messages": ask(text), "model": "cached"}
            )
            redis = Redis.from_url(REDIS_URL)
            try:
                assert 0 < await redis.pttl(entry) <= 600_000
                assert await redis.delete(entry) == 1
            finally:
                await redis.aclose()
        finally:
            second.stop()
    finally:
        first.stop()


async def test_redis_down_is_a_miss_not_an_error(upstream: FakeUpstream, tmp_path: Path) -> None:
    server = start(upstream, tmp_path, TWELVE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    try:
        _customer_id, _key_id, key = await customer(server)
        text = f"no redis {secrets.token_hex(4)}"
        async with AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=key) as client:
            for _ in range(2):
                raw = await client.chat.completions.with_raw_response.create(
                    model="cached", messages=ask(text)
                )
                assert raw.headers["x-twelve-cache"] == "miss"
                assert raw.parse().choices[0].message.content == f"echo: {text}"
        server.stop()  # drains the log writer's queue
        assert server.stderr().count("cache_store_unavailable") == 1
    finally:
        server.stop()
