"""Admission stage: hold the request's worst-case cost on the customer's credits.

The hold is the most any deployment of the model's plan could cost for this request (fallback
may land on the dearest). At the end the finaliser calls the returned `Settle` exactly once:
a request that never reached an upstream, or that no deployment answered, releases its hold; one
with usage is charged at the prices of the deployment that answered; one whose usage is unknown
(stream cut, client gone, no usage reported) is charged the whole hold. A request whose plan is
free or unpriced takes no hold at all.
"""

from __future__ import annotations

import structlog

from twelve.kernel.errors import NotFound
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import (
    COST_MICROS,
    CREDIT_HOLDS,
    CREDIT_SETTLEMENTS,
    UNPRICED_REQUESTS,
)
from twelve.modules.credits.api import HoldsService, InsufficientQuota, PlaceHold
from twelve.modules.gateway.exchange import Exchange, Settle
from twelve.modules.gateway.stages.allow_list import model_not_found
from twelve.modules.gateway.stages.cost_estimate import (
    cost_micros,
    input_tokens,
    output_tokens,
    usage_cost,
)
from twelve.modules.gateway.stages.price_list import Price, PriceList, catalogue_path
from twelve.modules.models.api import JSONObject, ModelsService

log = get_logger("twelve.gateway.credit_hold")


class CreditHold:
    def __init__(
        self,
        holds: HoldsService,
        models: ModelsService,
        *,
        default_max_tokens: int,
        hold_seconds: float,
        prices: PriceList | None = None,
    ) -> None:
        self._holds = holds
        self._models = models
        self._default_max_tokens = default_max_tokens
        self._hold_seconds = hold_seconds
        self.prices = prices or PriceList(catalogue_path())

    async def check_prices(self) -> None:
        """At start-up: warn about every deployment that has no price. Never fails the start:
        a models module in another process may not answer yet (readiness reports that)."""
        try:
            await self.prices.warn_unpriced(self._models)
        except Exception as exc:
            log.warning("price_check_skipped", cause=f"{type(exc).__name__}: {exc}")

    async def admit(self, exchange: Exchange) -> Settle | None:
        assert exchange.principal is not None  # authenticate runs first
        capability = exchange.endpoint.capability
        try:
            plan = await self._models.plan(exchange.model, capability)
        except NotFound:
            raise model_not_found(exchange.model) from None
        prices = [self.prices.of(d) for d in plan]
        if not any(p.input or p.output for p in prices):  # free or unpriced: nothing to count
            if not any(p.priced for p in prices):
                UNPRICED_REQUESTS.labels(exchange.model).inc()
            return None
        body = exchange.body
        prompt = await input_tokens(body)
        worst, dearest = max(
            (
                (self._worst(price, prompt, body, capability), d)
                for price, d in zip(prices, plan, strict=True)
            ),
            key=lambda pair: pair[0],
        )
        if worst <= 0:  # e.g. embeddings on a model priced for output only
            return None
        customer = exchange.principal.customer_id
        request_id = structlog.contextvars.get_contextvars().get("request_id", "")
        try:
            hold = await self._holds.hold(
                PlaceHold(
                    customer_id=customer,
                    amount_micros=worst,
                    request_id=str(request_id),
                    ttl_seconds=self._hold_seconds,
                )
            )
        except InsufficientQuota:
            CREDIT_HOLDS.labels("refused").inc()
            raise
        CREDIT_HOLDS.labels("placed").inc()

        async def settle(ended: Exchange) -> None:
            if not ended.dispatched or ended.outcome in ("upstream_error", "refused"):
                await self._holds.release(hold.id)
                CREDIT_SETTLEMENTS.labels("released").inc()
                return
            cost = None
            if ended.usage is not None:
                price = self.prices.of(ended.deployment or dearest)
                cost = usage_cost(price, ended.usage)
            settled = await self._holds.settle(hold.id, cost)
            if not settled.applied:  # the sweeper got there first
                return
            how = "overrun" if settled.overrun else "actual" if cost is not None else "at_hold"
            CREDIT_SETTLEMENTS.labels(how).inc()
            COST_MICROS.labels(ended.model, customer).inc(settled.charged_micros)
            if settled.overrun:
                log.warning("credit_overrun", hold_id=hold.id, held=worst, charged=cost)

        return settle

    def _worst(self, price: Price, prompt: int, body: JSONObject, capability: str) -> int:
        if capability == "embeddings":  # nothing generated
            return cost_micros(price, prompt, 0)
        default = price.output_limit or self._default_max_tokens
        return cost_micros(price, prompt, output_tokens(body, default))
