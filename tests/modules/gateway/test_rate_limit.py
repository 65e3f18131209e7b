"""The rate-limit stage in the real pipeline, in front of the fake upstream on 127.0.0.1.

OpenAI's 429 (type `requests` or `tokens`, code `rate_limit_exceeded`, the limit named, integer
`Retry-After`, `x-ratelimit-*`), the same headers on admitted requests, nothing asked of the store
for a key without limits, no credit hold for a refused request, tokens corrected to the usage,
and a slot given back exactly once however the request ends (answer, error, stream, a cut
stream, a client that hangs up).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog
from prometheus_client import REGISTRY

from tests.fakes.upstream import FakeUpstream
from tests.modules.gateway.pipeline_world import World, chat
from tests.modules.gateway.test_pipeline import received, respond, until
from twelve.kernel.errors import UpstreamError
from twelve.kernel.quotas import Limits
from twelve.modules.credits.api import BudgetExceeded, InsufficientQuota
from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.exchange import Exchange, Settle
from twelve.modules.gateway.routing import RetryPolicy
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.stages.limit_store import (
    MemoryLimitStore,
    Slots,
    Verdict,
    Window,
)
from twelve.modules.gateway.stages.rate_limit import RateLimit, RateLimited
from twelve.modules.gateway.stages.redis_limit_store import RedisLimitStore
from twelve.modules.gateway.streaming import OpenStream

KEY = "tw-" + "r" * 43


@dataclass
class Keys:
    """One key whose limits (and its customer's) a test sets."""

    limits: Limits = field(default_factory=Limits)
    customer_limits: Limits = field(default_factory=Limits)

    async def authenticate(self, key: str) -> Principal | None:
        if key != KEY:
            return None
        return Principal(
            key_id="key_r",
            customer_id="cus_r",
            models=None,
            limits=self.limits,
            customer_limits=self.customer_limits,
        )


@dataclass
class Admitted:
    """A stage after the rate limit (where the credit hold is): counts who reached it."""

    admitted: int = 0
    refuse: Exception | None = None

    async def admit(self, exchange: Exchange) -> Settle | None:
        self.admitted += 1
        if self.refuse is not None:
            raise self.refuse
        return None


class CountingStore(MemoryLimitStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def acquire(
        self, windows: Sequence[Window], slots: Sequence[Slots], member: str
    ) -> Verdict:
        self.calls.append("acquire")
        return await super().acquire(windows, slots, member)

    async def release(
        self, corrections: Sequence[tuple[Window, int]], slots: Sequence[Slots], member: str
    ) -> None:
        self.calls.append("release")
        await super().release(corrections, slots, member)


class LimitedWorld(World):
    def __init__(self, upstream_url: str) -> None:
        super().__init__(upstream_url)
        self.limited = Keys()
        self.store = CountingStore()
        self.after = Admitted()
        self.rate_limit = RateLimit(self.store, default_max_tokens=100)
        # The same models and feature services as the world's own gateway.
        ports = self.gateway.pipeline._ports
        self.gateway = Gateway(
            keys=self.limited,  # type: ignore[arg-type]  # the pipeline only authenticates
            models=self.gateway.pipeline._models._models,
            chat=ports.chat,
            completion=ports.completion,
            embeddings=ports.embeddings,
            policy=RetryPolicy(retries=0, backoff_seconds=0, backoff_max_seconds=0),
            admission=[self.rate_limit, self.after],
        )

    def request(self, model: str = "echo", **body: Any) -> Exchange:
        return self.exchange(chat(model, **body), key=KEY)


@pytest.fixture
async def world(fake: FakeUpstream) -> AsyncIterator[LimitedWorld]:
    built = LimitedWorld(fake.base_url)
    yield built
    await built.close()


def rejections(reason: str) -> float:
    return REGISTRY.get_sample_value("twelve_rejections_total", {"reason": reason}) or 0.0


async def settled(exchange: Exchange) -> None:
    if exchange.settling is not None:
        await asyncio.wait_for(asyncio.shield(exchange.settling), 10)


async def test_a_key_without_limits_costs_no_store_call(world: LimitedWorld) -> None:
    exchange = world.request()
    await world.gateway.serve(exchange)
    await settled(exchange)
    assert world.store.calls == []
    assert exchange.response_headers == {}


async def test_rpm_refusal_is_openais_429(world: LimitedWorld) -> None:
    world.limited.limits = Limits(rpm=2)
    before = rejections("rate_limit")
    for _ in range(2):
        exchange = world.request()
        await world.gateway.serve(exchange)
        assert exchange.response_headers["x-ratelimit-limit-requests"] == "2"
    assert exchange.response_headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(RateLimited) as refused:
        await world.gateway.serve(world.request())
    error = refused.value
    assert error.status == 429
    body = error.body()["error"]
    assert body["type"] == "requests" and body["code"] == "rate_limit_exceeded"
    assert "key key_r" in body["message"] and "requests per min (RPM)" in body["message"]
    assert "Limit 2" in body["message"]
    headers = error.headers
    assert re.fullmatch(r"[1-9][0-9]*", headers["retry-after"])
    assert 1 <= int(headers["retry-after"]) <= 120
    assert headers["x-ratelimit-limit-requests"] == "2"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert re.fullmatch(r"([0-9]+m)?[0-9.]+s|[0-9]+ms", headers["x-ratelimit-reset-requests"])
    assert world.after.admitted == 2  # the refused request never reached the credit hold
    assert rejections("rate_limit") == before + 1


async def test_the_tighter_of_key_and_customer_wins(world: LimitedWorld) -> None:
    world.limited.limits = Limits(rpm=10)
    world.limited.customer_limits = Limits(rpm=1)
    exchange = world.request()
    await world.gateway.serve(exchange)
    assert exchange.response_headers["x-ratelimit-limit-requests"] == "1"  # the tightest
    with pytest.raises(RateLimited) as refused:
        await world.gateway.serve(world.request())
    assert "customer cus_r" in refused.value.message


async def test_tpm_reserves_the_estimate_and_keeps_the_usage(world: LimitedWorld) -> None:
    world.limited.limits = Limits(tpm=1000)
    exchange = world.request(max_tokens=50)
    await world.gateway.serve(exchange)
    await settled(exchange)
    assert exchange.usage is not None
    used = exchange.usage["total_tokens"]
    estimate = world.rate_limit.estimate(exchange)
    assert estimate > used  # reserved the bound, then corrected to the usage
    assert exchange.response_headers["x-ratelimit-remaining-tokens"] == str(1000 - estimate)
    after = world.request(max_tokens=50)
    await world.gateway.serve(after)
    # What remains now counts the first request at its usage, not at its estimate.
    assert after.response_headers["x-ratelimit-remaining-tokens"] == str(1000 - used - estimate)


async def test_a_request_larger_than_the_tpm_is_refused_as_tokens(world: LimitedWorld) -> None:
    world.limited.limits = Limits(tpm=100)
    with pytest.raises(RateLimited) as refused:
        await world.gateway.serve(world.request(max_tokens=500))
    body = refused.value.body()["error"]
    assert body["type"] == "tokens" and "tokens per min (TPM)" in body["message"]
    assert refused.value.headers["x-ratelimit-limit-tokens"] == "100"
    assert refused.value.headers["retry-after"] == "60"


async def test_a_failed_upstream_gives_back_its_tokens_and_its_slot(world: LimitedWorld) -> None:
    world.limited.limits = Limits(tpm=1000, max_concurrency=1)
    exchange = world.request("broken", max_tokens=50)
    with pytest.raises(UpstreamError):
        await world.gateway.serve(exchange)
    await settled(exchange)
    after = world.request(max_tokens=50)
    await world.gateway.serve(after)  # the slot is free again
    estimate = world.rate_limit.estimate(after)
    assert after.response_headers["x-ratelimit-remaining-tokens"] == str(1000 - estimate)


async def test_concurrency_is_held_while_a_request_runs(
    world: LimitedWorld, fake: FakeUpstream
) -> None:
    world.limited.customer_limits = Limits(max_concurrency=1)
    first = world.request("stalling", stream=True)
    routed = await world.gateway.serve(first)
    with pytest.raises(RateLimited) as refused:
        await world.gateway.serve(world.request())
    assert "concurrent requests" in refused.value.message
    assert refused.value.headers["retry-after"] == "1"
    await respond(world, first, routed, leave_after=1)  # the client hangs up mid-stream
    await settled(first)
    assert first.outcome == "client_gone"
    world.left.clear()  # a new client
    await world.gateway.serve(world.request())  # its slot came back


@pytest.mark.parametrize(("model", "outcome"), [("echo", "ok"), ("cut", "stream_failed")])
async def test_a_stream_gives_its_slot_back_once(
    world: LimitedWorld, model: str, outcome: str
) -> None:
    world.limited.limits = Limits(max_concurrency=1)
    exchange = world.request(model, stream=True)
    await respond(world, exchange, await world.gateway.serve(exchange))
    await settled(exchange)
    assert exchange.outcome == outcome
    assert world.store.calls == ["acquire", "release"]
    again = world.request()
    await world.gateway.serve(again)
    await settled(again)


async def test_a_client_leaving_before_the_answer_gives_its_slot_back(
    world: LimitedWorld, fake: FakeUpstream
) -> None:
    world.limited.limits = Limits(max_concurrency=1)
    exchange = world.request("slow")
    serving = asyncio.create_task(world.gateway.serve(exchange))
    await until(lambda: received(fake, "slow-30000"))
    world.left.set()
    with pytest.raises(Exception, match="closed the connection"):
        await asyncio.wait_for(serving, 10)
    await settled(exchange)
    assert world.store.calls == ["acquire", "release"]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (InsufficientQuota("no money"), "insufficient_quota"),
        (BudgetExceeded("no budget"), "budget"),
    ],
)
async def test_refusals_by_the_credit_hold_are_counted_by_reason(
    world: LimitedWorld, error: Exception, reason: str
) -> None:
    world.after.refuse = error
    before = rejections(reason)
    with pytest.raises(InsufficientQuota):
        await world.gateway.serve(world.request())
    assert rejections(reason) == before + 1


async def test_log_lines_carry_the_key_id_customer_and_model(world: LimitedWorld) -> None:
    structlog.contextvars.clear_contextvars()
    await world.gateway.serve(world.request())
    bound = structlog.contextvars.get_contextvars()
    assert bound == {
        "customer_id": "cus_r",
        "key_id": "key_r",
        "model": "echo",
        "deployment": "echo/openai/gpt-echo",
    }
    assert KEY not in str(bound)
    structlog.contextvars.clear_contextvars()


async def test_an_unreachable_redis_fails_open(world: LimitedWorld) -> None:
    world.limited.limits = Limits(rpm=1, max_concurrency=1)
    world.rate_limit = RateLimit(
        RedisLimitStore("redis://127.0.0.1:1/0", slot_seconds=60), default_max_tokens=100
    )
    world.gateway.pipeline._stages = (*world.gateway.pipeline._stages[:3], world.rate_limit)
    for _ in range(2):  # over both limits, had they been counted
        exchange = world.request()
        routed = await world.gateway.serve(exchange)
        assert not isinstance(routed.result, OpenStream) and routed.result["choices"]
        assert exchange.response_headers == {}


async def test_a_prompt_over_its_byte_bound_is_counted_before_a_tpm_refusal(
    world: LimitedWorld,
) -> None:
    world.limited.limits = Limits(tpm=100)
    text = "é" * 60  # 120 bytes, far fewer tokens
    body = {"model": "echo", "messages": [{"role": "user", "content": text}], "max_tokens": 10}
    exchange = world.exchange(body, key=KEY)
    exchange.body = body  # what the body stage will have read
    bound = world.rate_limit.estimate(exchange)
    exact = await world.rate_limit.estimate_exactly(exchange)
    assert bound > 100 > exact
    await world.gateway.serve(exchange)
    assert exchange.response_headers["x-ratelimit-remaining-tokens"] == str(100 - exact)
