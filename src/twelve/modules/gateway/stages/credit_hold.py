"""Admission stage: hold the request's worst-case cost on the customer's credits.

The hold is the most any deployment of the model's plan could cost for this request (fallback
may land on the dearest). At the end the finaliser calls the returned `Settle` exactly once:
a request that never reached an upstream, or that no deployment answered, releases its hold; one
with usage is charged at the prices of the deployment that answered; one whose usage is unknown
(stream cut, client gone, no usage reported) is charged the whole hold. A request whose plan is
free or unpriced takes no hold at all.

The hold is first tried at a prompt bound that needs no tokenizer (its UTF-8 bytes): computing it
costs nothing and keeps the tokenizer's tables (~140 MiB) out of memory while customers are
funded. Only when that is refused are the tokens counted and the exact worst case tried (each
try is one conditional write). A request whose usage stays unknown is charged that exact worst
case, counted at the end, never the looser bound.
"""

from __future__ import annotations

import math

import structlog

from twelve.kernel.errors import NotFound
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import (
    COST_MICROS,
    CREDIT_HOLDS,
    CREDIT_SETTLEMENTS,
    UNPRICED_REQUESTS,
)
from twelve.modules.credits.api import (
    BudgetExceeded,
    Hold,
    HoldsService,
    InsufficientQuota,
    PlaceHold,
)
from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.exchange import Exchange, Settle
from twelve.modules.gateway.stages.allow_list import model_not_found
from twelve.modules.gateway.stages.cost_estimate import (
    cost_micros,
    input_bound,
    input_tokens,
    output_tokens,
    usage_cost,
)
from twelve.modules.gateway.stages.price_list import Price, PriceList, catalogue_path
from twelve.modules.gateway.stages.unit_cost import units_micros, worst_units
from twelve.modules.models.api import DeploymentRef, JSONObject, ModelsService

log = get_logger("twelve.gateway.credit_hold")
# The capabilities whose answers are billed output tokens (up to `max_tokens`).
_GENERATES_TEXT = frozenset({"chat", "completions"})

# A placed hold with what settling it needs: the hold, the worst case held, the exact worst case
# when the prompt was counted, the deployment of the worst case, the plan's prices and the plan.
_Held = tuple[Hold, int, int | None, DeploymentRef, list[Price], list[DeploymentRef]]


def _request_id() -> str:
    return str(structlog.contextvars.get_contextvars().get("request_id", ""))


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
        if exchange.prepaid:
            return self._metered_only
        held = await self._hold(exchange, _request_id(), self._hold_seconds)
        if held is None:
            return None
        hold, worst, exact, dearest, prices, plan = held
        customer = hold.customer_id
        body = exchange.body
        capability = exchange.endpoint.capability

        async def settle(ended: Exchange) -> None:
            nonlocal exact
            if ended.cached is not None and ended.outcome == "ok":
                await self._settle_hit(hold, ended, ended.cached.cost_fraction)
                return
            if not ended.dispatched or ended.outcome in ("upstream_error", "refused"):
                await self._holds.release(hold.id)
                CREDIT_SETTLEMENTS.labels("released").inc()
                return
            if ended.usage is not None:
                cost = usage_cost(self.prices.of(ended.deployment or dearest), ended.usage)
            else:
                cost = None
            if cost is None and exact is None:  # charged the exact worst case, not the bound
                prompt = await input_tokens(body)
                exact = self._dearest(prices, plan, prompt, body, capability)[0]
            settled = await self._holds.settle(hold.id, exact if cost is None else cost)
            if not settled.applied:  # the sweeper got there first
                return
            ended.charged_micros = settled.charged_micros  # for the usage row
            how = "overrun" if settled.overrun else "actual" if cost is not None else "at_hold"
            CREDIT_SETTLEMENTS.labels(how).inc()
            COST_MICROS.labels(ended.model, customer).inc(settled.charged_micros)
            if settled.overrun:
                log.warning("credit_overrun", hold_id=hold.id, held=worst, charged=cost)

        return settle

    async def reserve(self, exchange: Exchange, request_id: str, ttl_seconds: float) -> str | None:
        """Hold the worst case of `exchange` (its principal, endpoint and body set) for a job
        that will run later (`prepaid` exchanges); the hold's id, or None when it is free."""
        held = await self._hold(exchange, request_id, ttl_seconds)
        return None if held is None else held[0].id

    async def _hold(self, exchange: Exchange, request_id: str, ttl_seconds: float) -> _Held | None:
        assert exchange.principal is not None  # authenticate runs first
        capability = exchange.endpoint.capability
        try:
            plan = await self._models.plan(exchange.model, capability)
        except NotFound:
            raise model_not_found(exchange.model) from None
        prices = [self.prices.of(d) for d in plan]
        if not any(p.charges for p in prices):  # free or unpriced: nothing to count
            if not any(p.priced for p in prices):
                UNPRICED_REQUESTS.labels(exchange.model).inc()
                exchange.unpriced = True  # its usage rows say so
            return None
        body = exchange.body
        worst, dearest = self._dearest(prices, plan, input_bound(body), body, capability)
        if worst <= 0:  # e.g. embeddings on a model priced for output only
            return None
        principal = exchange.principal
        exact: int | None = None  # the worst case at the counted prompt, once counted
        cap = exchange.cost_cap_micros
        if cap is not None and worst > cap:
            exact, dearest = self._dearest(prices, plan, await input_tokens(body), body, capability)
            if exact > cap:
                CREDIT_HOLDS.labels("refused").inc()
                raise BudgetExceeded(
                    f"This call may cost up to ${exact / 1e6:g}, more than the ${cap / 1e6:g} "
                    "left of its budget; lower max_tokens or raise the budget."
                )
            worst = exact
        try:
            hold = await self._place(principal, worst, request_id, ttl_seconds)
        except InsufficientQuota:
            exact, dearest = self._dearest(prices, plan, await input_tokens(body), body, capability)
            if exact >= worst:
                CREDIT_HOLDS.labels("refused").inc()
                raise
            try:
                hold = await self._place(principal, exact, request_id, ttl_seconds)
            except InsufficientQuota:
                CREDIT_HOLDS.labels("refused").inc()
                raise
            worst = exact
        CREDIT_HOLDS.labels("placed").inc()
        return hold, worst, exact, dearest, prices, plan

    async def _metered_only(self, ended: Exchange) -> None:
        """A job's attempt: its job holds the credits, so only say what the attempt cost
        (`charged_micros`, or `cost_unknown`); the job settles its hold once at its end."""
        if not ended.dispatched and ended.cached is None:
            return
        if ended.outcome in ("upstream_error", "refused"):
            return
        if ended.deployment is None:
            return
        price = self.prices.of(ended.deployment)
        if not price.charges:
            return
        cost = usage_cost(price, ended.usage) if ended.usage is not None else None
        if ended.cached is not None and ended.outcome == "ok":
            fraction = ended.cached.cost_fraction
            ended.charged_micros = math.ceil((cost or 0) * fraction)
        elif cost is None:
            ended.cost_unknown = True
        else:
            ended.charged_micros = cost

    async def _settle_hit(self, hold: Hold, ended: Exchange, fraction: float) -> None:
        """A prompt-cache hit costs `fraction` of what its answer's usage costs (often nothing:
        then the hold is released)."""
        price = self.prices.of(ended.deployment) if ended.deployment else None
        full = usage_cost(price, ended.usage) if price and ended.usage else None
        cost = math.ceil(full * fraction) if full is not None else 0
        if cost <= 0:
            await self._holds.release(hold.id)
            CREDIT_SETTLEMENTS.labels("released").inc()
            return
        settled = await self._holds.settle(hold.id, cost)
        if settled.applied:
            ended.charged_micros = settled.charged_micros
            CREDIT_SETTLEMENTS.labels("actual").inc()
            COST_MICROS.labels(ended.model, hold.customer_id).inc(settled.charged_micros)

    async def _place(
        self, principal: Principal, micros: int, request_id: str, ttl_seconds: float
    ) -> Hold:
        """Hold `micros` on the customer's balance and, in the same write, on the key's budget."""
        return await self._holds.hold(
            PlaceHold(
                customer_id=principal.customer_id,
                amount_micros=micros,
                request_id=request_id,
                ttl_seconds=ttl_seconds,
                key_id=principal.key_id,
                budget=principal.budget,
            )
        )

    def _dearest(
        self,
        prices: list[Price],
        plan: list[DeploymentRef],
        prompt: int,
        body: JSONObject,
        capability: str,
    ) -> tuple[int, DeploymentRef]:
        """The worst cost over the plan at `prompt` input tokens, and the deployment of it."""
        return max(
            (
                (self._worst(price, prompt, body, capability), d)
                for price, d in zip(prices, plan, strict=True)
            ),
            key=lambda pair: pair[0],
        )

    def _worst(self, price: Price, prompt: int, body: JSONObject, capability: str) -> int:
        units = units_micros(price, *worst_units(capability, body))
        if capability not in _GENERATES_TEXT:  # no text generated: input tokens and units
            return cost_micros(price, prompt, 0) + units
        default = price.output_limit or self._default_max_tokens
        return cost_micros(price, prompt, output_tokens(body, default)) + units
