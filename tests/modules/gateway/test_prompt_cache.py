"""The cache stage in a real pipeline in front of the fake upstream (a real HTTP server): a hit
skips the upstream and is a fresh object each time (changing one never changes the entry), an
answer that failed is never kept, and a store that holds garbage is a miss."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.upstream import FakeUpstream
from tests.modules.gateway.pipeline_world import KEY, World, chat, drain
from twelve.kernel.errors import UpstreamError
from twelve.modules.chat.service import ChatCompletions
from twelve.modules.completion.service import TextCompletions
from twelve.modules.embeddings.service import Embeddings
from twelve.modules.gateway.cache_key import cache_key
from twelve.modules.gateway.cache_store import MemoryCacheStore
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.pipeline import PlanCache
from twelve.modules.gateway.routing import RetryPolicy
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.stages.prompt_cache import PromptCache
from twelve.modules.gateway.streaming import OpenStream, relay
from twelve.modules.models.config import ModelsConfig
from twelve.modules.models.service import build_models_service


class CachedWorld(World):
    """The pipeline world with a cache on `echo`, `broken` and `cut`."""

    def __init__(self, upstream_url: str) -> None:
        super().__init__(upstream_url)
        raw: dict[str, Any] = {
            "models": [
                {
                    "name": name,
                    "cache": {"ttl_seconds": 60},
                    "deployments": [
                        {
                            "provider": "openai",
                            "base_url": f"{upstream_url}/v1",
                            "api_key": "sk-test",
                            "model": upstream_model,
                        }
                    ],
                }
                for name, upstream_model in (("echo", "gpt-echo"), ("broken", "fail-500"))
            ]
            + [
                {
                    "name": "cut",
                    "cache": {"ttl_seconds": 60},
                    "deployments": [
                        {
                            "provider": "openai",
                            "base_url": f"{upstream_url}/v1",
                            "api_key": "sk-test",
                            "model": "cut-2",
                        }
                    ],
                }
            ]
        }
        models = build_models_service(ModelsConfig.model_validate(raw), self.http)
        self.store = MemoryCacheStore(1024 * 1024)
        self.gateway = Gateway(
            keys=self.keys,
            models=models,
            chat=ChatCompletions(models),
            completion=TextCompletions(models),
            embeddings=Embeddings(models),
            policy=RetryPolicy(retries=0, backoff_seconds=0, backoff_max_seconds=0),
            admission=[PromptCache(self.store, PlanCache(models))],
        )

    async def ask(self, body: dict[str, Any]) -> tuple[Exchange, Any]:
        exchange = self.exchange(body)
        routed = await self.gateway.serve(exchange)
        if exchange.settling is not None:
            await exchange.settling
        return exchange, routed.result


@pytest.fixture
async def world(fake: FakeUpstream) -> AsyncIterator[CachedWorld]:
    built = CachedWorld(fake.base_url)
    yield built
    await built.close()


def calls(fake: FakeUpstream, upstream_model: str) -> int:
    return sum((r.json or {}).get("model") == upstream_model for r in fake.requests)


async def test_a_hit_is_a_fresh_object_each_time(world: CachedWorld, fake: FakeUpstream) -> None:
    before = calls(fake, "gpt-echo")
    miss, answer = await world.ask(chat("echo"))
    assert miss.response_headers["x-twelve-cache"] == "miss" and miss.cached is None
    hit, cached = await world.ask(chat("echo"))
    assert hit.response_headers["x-twelve-cache"] == "hit"
    assert cached["choices"] == answer["choices"]
    assert cached["usage"]["prompt_tokens_details"]["cached_tokens"] == 3
    assert calls(fake, "gpt-echo") == before + 1
    cached["choices"][0]["message"]["content"] = "tampered"
    cached["usage"].clear()
    _again, fresh = await world.ask(chat("echo"))
    assert fresh["choices"] == answer["choices"]
    assert fresh["usage"]["prompt_tokens"] == 3
    assert fresh is not cached


async def test_a_failed_answer_is_never_kept(world: CachedWorld, fake: FakeUpstream) -> None:
    for _ in range(2):
        with pytest.raises(UpstreamError):
            await world.ask(chat("broken"))
    assert len(world.store) == 0


async def stream(world: CachedWorld, model: str) -> tuple[Exchange, list[bytes]]:
    exchange = world.exchange(chat(model, stream=True))
    routed = await world.gateway.serve(exchange)
    assert isinstance(routed.result, OpenStream)
    sent = await drain(relay(routed.result, exchange))
    await world.gateway.finaliser.finish(exchange, exchange.stream_end or "ok")
    return exchange, sent


async def test_a_stream_that_ended_well_is_replayed(world: CachedWorld, fake: FakeUpstream) -> None:
    before = calls(fake, "gpt-echo")
    miss, first = await stream(world, "echo")
    assert miss.response_headers["x-twelve-cache"] == "miss" and len(world.store) == 1
    hit, again = await stream(world, "echo")
    assert hit.response_headers["x-twelve-cache"] == "hit"
    assert again == first and again[-1] == b"data: [DONE]\n\n"
    assert hit.outcome == "ok" and hit.usage is not None
    assert calls(fake, "gpt-echo") == before + 1


async def test_a_cut_stream_is_never_kept(world: CachedWorld) -> None:
    exchange, _sent = await stream(world, "cut")
    assert exchange.stream_end == "stream_failed"
    assert len(world.store) == 0


async def test_an_unreadable_entry_is_a_miss(world: CachedWorld, fake: FakeUpstream) -> None:
    body = chat("echo", temperature=0.7)
    await world.store.put(cache_key("c1", "chat_completions", body), b"not json", 60)
    exchange, answer = await world.ask(body)
    assert exchange.response_headers["x-twelve-cache"] == "miss"
    assert answer["choices"][0]["message"]["content"].startswith("echo")


async def test_the_key_is_per_customer(world: CachedWorld) -> None:
    assert KEY  # the world's key belongs to customer c1
    exchange, _answer = await world.ask(chat("echo", seed=7))
    assert exchange.principal is not None and exchange.principal.customer_id == "c1"
    assert await world.store.get(cache_key("c1", "chat_completions", chat("echo", seed=7)))
    assert await world.store.get(cache_key("c2", "chat_completions", chat("echo", seed=7))) is None
