"""The credit-hold stage in a real pipeline, with the real credits service (SQLite and
PostgreSQL) and fake upstreams on 127.0.0.1: charged at actual usage, at the hold when usage is
unknown, released when no upstream answered, refused with 402 when the hold cannot be made."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from pydantic import BaseModel

from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_exchange import STATE, FakeState
from twelve.kernel.db import Database
from twelve.kernel.errors import UpstreamError
from twelve.kernel.http_client import HttpClient
from twelve.modules.chat.service import ChatCompletions
from twelve.modules.completion.service import TextCompletions
from twelve.modules.credits.api import BudgetExceeded, CreateCustomer, InsufficientQuota
from twelve.modules.credits.service import CreditsService
from twelve.modules.embeddings.service import Embeddings
from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.endpoints import ENDPOINTS
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.routing import RetryPolicy
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.stages.cost_estimate import _encoding, input_bound, input_tokens
from twelve.modules.gateway.stages.credit_hold import CreditHold
from twelve.modules.models.api import JSONObject
from twelve.modules.models.config import ModelsConfig
from twelve.modules.models.service import build_models_service

KEY = "tw-" + "c" * 43
CHAT = next(e for e in ENDPOINTS if e.name == "chat_completions")
PRICES = {"input_cost_per_mtok": 1.0, "output_cost_per_mtok": 2.0}  # micros per token: 1 and 2
MODELS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "echo": ("fake", "gpt-echo", PRICES),
    "broken": ("fake", "fail-500", PRICES),
    "mute": ("silent", "gpt-mute", PRICES),
    "gift": ("fake", "gpt-echo", {**PRICES, "free": True}),
    "unpriced": ("fake", "gpt-echo", {}),
}


def no_usage_app(state: FakeState) -> web.Application:
    """An upstream that answers but never reports usage."""

    async def answer(_request: web.Request) -> web.Response:
        message = {"role": "assistant", "content": "hi"}
        return web.json_response(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": 1,
                "model": "gpt-mute",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            }
        )

    app = web.Application()
    app[STATE] = state
    app.router.add_post("/v1/chat/completions", answer)
    return app


class OneKey:
    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id

    async def authenticate(self, key: str) -> Principal | None:
        return Principal(key_id="k1", customer_id=self.customer_id, models=None)


@pytest.fixture(scope="module")
def silent() -> Iterator[FakeUpstream]:
    with FakeUpstream(app=no_usage_app) as fake:
        yield fake


class Setup:
    def __init__(self, credits: CreditsService, gateway: Gateway, customer_id: str) -> None:
        self.credits, self.gateway, self.customer_id = credits, gateway, customer_id

    async def ask(self, model: str, cap: int | None = None, **extra: Any) -> JSONObject:
        body: JSONObject = {"model": model, "messages": [{"role": "user", "content": "a b c"}]}
        body |= extra

        async def read(schema: type[BaseModel]) -> JSONObject:
            schema.model_validate(body)
            return body

        routed = await self.gateway.serve(Exchange(CHAT, KEY, read, cost_cap_micros=cap))
        assert isinstance(routed.result, dict)
        return routed.result

    async def balance(self) -> tuple[int, int]:
        account = await self.credits.account(self.customer_id)
        assert account is not None
        return account.balance_micros, account.held_micros


@pytest.fixture
async def setup(
    credits_db: Database, fake: FakeUpstream, silent: FakeUpstream
) -> AsyncIterator[Setup]:
    urls = {"fake": fake.base_url, "silent": silent.base_url}
    raw = {
        "models": [
            {
                "name": name,
                "deployments": [
                    {
                        "provider": "openai",
                        "base_url": f"{urls[where]}/v1",
                        "api_key": "sk-test",
                        "model": upstream_model,
                        **prices,
                    }
                ],
            }
            for name, (where, upstream_model, prices) in MODELS.items()
        ]
    }
    http = HttpClient()
    models = build_models_service(ModelsConfig.model_validate(raw), http)
    credits = CreditsService(credits_db)
    customer = await credits.create_customer(CreateCustomer(name="acme", credits=Decimal(1)))
    gateway = Gateway(
        keys=OneKey(customer.id),  # type: ignore[arg-type]
        models=models,
        chat=ChatCompletions(models),
        completion=TextCompletions(models),
        embeddings=Embeddings(models),
        policy=RetryPolicy(retries=0, backoff_seconds=0, backoff_max_seconds=0),
        admission=[CreditHold(credits, models, default_max_tokens=100, hold_seconds=60)],
    )
    yield Setup(credits, gateway, customer.id)
    await http.close()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_answer_is_charged_its_actual_usage(setup: Setup) -> None:
    cost_before = sample("twelve_cost_micros_total", model="echo", customer=setup.customer_id)
    answer = await setup.ask("echo", max_tokens=10)
    usage = answer["usage"]
    cost = usage["prompt_tokens"] * 1 + usage["completion_tokens"] * 2
    assert await setup.balance() == (1_000_000 - cost, 0)
    after = sample("twelve_cost_micros_total", model="echo", customer=setup.customer_id)
    assert after - cost_before == cost
    [charge, _opening] = await setup.credits.ledger(setup.customer_id)
    assert charge.kind == "charge" and charge.amount_micros == -cost


async def test_unknown_usage_is_charged_the_whole_hold(setup: Setup) -> None:
    await setup.ask("mute", max_tokens=10)
    body = {"messages": [{"role": "user", "content": "a b c"}]}
    hold = await input_tokens(body) * 1 + 10 * 2
    assert await setup.balance() == (1_000_000 - hold, 0)


async def test_a_funded_request_is_held_without_the_tokenizer(setup: Setup) -> None:
    _encoding.cache_clear()  # its tables are ~140 MiB of memory and a cost per request
    answer = await setup.ask("echo", max_tokens=10)
    assert _encoding.cache_info().currsize == 0
    usage = answer["usage"]
    cost = usage["prompt_tokens"] * 1 + usage["completion_tokens"] * 2
    assert await setup.balance() == (1_000_000 - cost, 0)


async def test_a_balance_that_covers_only_the_counted_tokens_is_enough(setup: Setup) -> None:
    messages = [{"role": "user", "content": "hello " * 1000}]
    body: JSONObject = {"messages": messages}
    prompt, bound = await input_tokens(body), input_bound(body)
    assert bound > prompt + 1000  # the cheap bound alone would be refused
    max_tokens = (1_000_000 - prompt) // 2  # the exact worst case just fits the balance
    holds = sample("twelve_credit_holds_total", result="placed")
    answer = await setup.ask("echo", messages=messages, max_tokens=max_tokens)
    assert sample("twelve_credit_holds_total", result="placed") == holds + 1
    usage = answer["usage"]
    cost = usage["prompt_tokens"] * 1 + usage["completion_tokens"] * 2
    assert await setup.balance() == (1_000_000 - cost, 0)


async def test_a_cost_cap_admits_a_worst_case_that_fits_and_refuses_one_that_does_not(
    setup: Setup, fake: FakeUpstream
) -> None:
    """A workflow run's budget left: the counted worst case must fit (the cheap byte bound alone
    is not a reason to refuse); above it, 402 `budget_exceeded` and no upstream call."""
    body: JSONObject = {"messages": [{"role": "user", "content": "a b c"}]}
    exact = await input_tokens(body) * 1 + 10 * 2
    assert input_bound(body) * 1 + 10 * 2 > exact
    calls = len(fake.requests)
    with pytest.raises(BudgetExceeded) as refused:
        await setup.ask("echo", cap=exact - 1, max_tokens=10)
    assert refused.value.status == 402 and refused.value.code == "budget_exceeded"
    assert len(fake.requests) == calls
    assert await setup.balance() == (1_000_000, 0)
    answer = await setup.ask("echo", cap=exact, max_tokens=10)
    usage = answer["usage"]
    assert usage["prompt_tokens"] * 1 + usage["completion_tokens"] * 2 <= exact


async def test_a_failed_upstream_call_releases_its_hold(setup: Setup) -> None:
    with pytest.raises(UpstreamError):
        await setup.ask("broken")
    assert await setup.balance() == (1_000_000, 0)
    assert len(await setup.credits.ledger(setup.customer_id)) == 1


async def test_a_hold_that_cannot_be_made_is_a_402_and_nothing_is_called(
    setup: Setup, fake: FakeUpstream
) -> None:
    before = len(fake.requests)
    refusals = sample("twelve_credit_holds_total", result="refused")
    with pytest.raises(InsufficientQuota) as refused:
        await setup.ask("echo", max_tokens=600_000)  # 1.2 USD of output at worst
    assert sample("twelve_credit_holds_total", result="refused") == refusals + 1
    assert refused.value.status == 402 and refused.value.code == "insufficient_quota"
    assert len(fake.requests) == before
    assert await setup.balance() == (1_000_000, 0)


@pytest.mark.parametrize("model", ["gift", "unpriced"])
async def test_free_and_unpriced_models_take_no_hold(setup: Setup, model: str) -> None:
    await setup.ask(model, max_tokens=600_000)
    assert await setup.balance() == (1_000_000, 0)


async def test_a_huge_prompt_is_a_402_not_a_500(setup: Setup) -> None:
    with pytest.raises(InsufficientQuota):  # a million bytes at 1 micro each, plus output
        await setup.ask("echo", messages=[{"role": "user", "content": "x" * 1_000_000}])
    assert await setup.balance() == (1_000_000, 0)


class UnreachableModels:
    async def list_models(self) -> list[Any]:
        raise ConnectionError("the models module is not answering")


async def test_the_start_up_price_check_never_fails_the_start(credits_db: Database) -> None:
    stage = CreditHold(
        CreditsService(credits_db),
        UnreachableModels(),  # type: ignore[arg-type]
        default_max_tokens=1,
        hold_seconds=1,
    )
    await stage.check_prices()  # logged and skipped, not raised
