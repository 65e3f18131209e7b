"""Usage and budgets through a real pipeline: the credits service (SQLite and PostgreSQL), the
credit-hold stage, the usage meter and the fake upstream on 127.0.0.1. A usage row carries what
the hold charged; an unpriced model's rows are flagged; a key's budget refuses with 402
budget_exceeded once spent, and does not limit the customer's other keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from tests.fakes.upstream import FakeUpstream
from twelve.kernel.db import Database
from twelve.kernel.http_client import HttpClient
from twelve.kernel.quotas import Budget
from twelve.modules.chat.service import ChatCompletions
from twelve.modules.completion.service import TextCompletions
from twelve.modules.credits.api import BudgetExceeded, CreateCustomer, UsageQuery
from twelve.modules.credits.service import CreditsService
from twelve.modules.credits.usage_book import UsageBook
from twelve.modules.embeddings.service import Embeddings
from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.endpoints import ENDPOINTS
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.routing import RetryPolicy
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.stages.credit_hold import CreditHold
from twelve.modules.gateway.usage_meter import UsageMeter
from twelve.modules.models.api import JSONObject
from twelve.modules.models.config import ModelsConfig
from twelve.modules.models.service import build_models_service

CHAT = next(e for e in ENDPOINTS if e.name == "chat_completions")
PRICES = {"input_cost_per_mtok": 1.0, "output_cost_per_mtok": 2.0}  # micros per token: 1 and 2
# Two keys of one customer; the first has a budget of 100 micros a day.
BUDGET = Budget(amount=Decimal("0.0001"), period="day")
BUDGETED, PLAIN = "tw-" + "b" * 43, "tw-" + "p" * 43


class Keys:
    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id

    async def authenticate(self, key: str) -> Principal | None:
        budget = BUDGET if key == BUDGETED else None
        key_id = "key_budget" if key == BUDGETED else "key_plain"
        return Principal(key_id=key_id, customer_id=self.customer_id, models=None, budget=budget)


class World:
    def __init__(self, gateway: Gateway, meter: UsageMeter, book: UsageBook) -> None:
        self.gateway, self.meter, self.book = gateway, meter, book

    async def ask(self, model: str, key: str = PLAIN, **extra: Any) -> JSONObject:
        body: JSONObject = {"model": model, "messages": [{"role": "user", "content": "a b c"}]}
        body |= extra

        async def read(schema: type[BaseModel]) -> JSONObject:
            schema.model_validate(body)
            return body

        routed = await self.gateway.serve(Exchange(CHAT, key, read))
        assert isinstance(routed.result, dict)
        return routed.result

    async def flushed(self, query: UsageQuery) -> list[Any]:
        while self.meter.waiting:
            assert await self.meter.flush()
        return await self.book.usage(query)


@pytest.fixture
async def world(credits_db: Database, fake: FakeUpstream) -> AsyncIterator[World]:
    def model(name: str, prices: dict[str, Any]) -> dict[str, Any]:
        deployment = {
            "provider": "openai",
            "base_url": f"{fake.base_url}/v1",
            "api_key": "sk-test",
            "model": "gpt-echo",
            **prices,
        }
        return {"name": name, "deployments": [deployment]}

    raw = {"models": [model("echo", PRICES), model("unpriced", {})]}
    http = HttpClient()
    models = build_models_service(ModelsConfig.model_validate(raw), http)
    credits = CreditsService(credits_db)
    customer = await credits.create_customer(CreateCustomer(name="acme", credits=Decimal(1)))
    book = UsageBook(credits_db)
    meter = UsageMeter(book)
    gateway = Gateway(
        keys=Keys(customer.id),  # type: ignore[arg-type]
        models=models,
        chat=ChatCompletions(models),
        completion=TextCompletions(models),
        embeddings=Embeddings(models),
        policy=RetryPolicy(retries=0, backoff_seconds=0, backoff_max_seconds=0),
        admission=[CreditHold(credits, models, default_max_tokens=100, hold_seconds=60)],
        meter=meter.record,
    )
    yield World(gateway, meter, book)
    await http.close()


async def test_usage_rows_carry_the_charge_and_flag_unpriced_models(world: World) -> None:
    answer = await world.ask("echo", max_tokens=10)
    usage = answer["usage"]
    cost = usage["prompt_tokens"] * 1 + usage["completion_tokens"] * 2
    await world.ask("unpriced", max_tokens=10)
    models = await world.flushed(UsageQuery(group_by="model"))
    by_model = {m.group: m for m in models}
    assert by_model["echo"].cost_micros == cost and by_model["echo"].unpriced_requests == 0
    assert by_model["echo"].input_tokens == usage["prompt_tokens"]
    assert by_model["echo"].output_tokens == usage["completion_tokens"]
    assert by_model["unpriced"].cost_micros == 0 and by_model["unpriced"].unpriced_requests == 1


async def test_a_key_budget_refuses_once_spent_and_spares_other_keys(world: World) -> None:
    spent = 0
    refused: BudgetExceeded | None = None
    for _ in range(20):  # each costs ~30 micros at most (10 output tokens): 100 lasts a few
        try:
            answer = await world.ask("echo", key=BUDGETED, max_tokens=10)
        except BudgetExceeded as exc:
            refused = exc
            break
        usage = answer["usage"]
        spent += usage["prompt_tokens"] + usage["completion_tokens"] * 2
    assert refused is not None, "the budget never ran out"
    assert refused.status == 402 and refused.code == "budget_exceeded"
    assert 0 < spent <= 100
    await world.ask("echo", key=PLAIN, max_tokens=10)  # the customer's other key
    keys = {k.group: k for k in await world.flushed(UsageQuery(group_by="key"))}
    assert keys["key_budget"].cost_micros == spent
    assert keys["key_plain"].requests == 1
