"""Strategies: the order in which one request tries a model's deployments.

Deployments are tried by priority (lower first, Envoy's priority levels); the model's strategy
orders the deployments of one priority, per request:

- `priority`: as configured (ordered failover, the default);
- `weighted`: at random, each first with a chance proportional to its `weight`
  (Efraimidis and Spirakis: sort by u^(1/w), so the whole order is a weighted draw);
- `least-latency`: lowest moving average of latency first (one not measured in the last 30 s
  first, to learn it again);
- `least-busy`: fewest requests in flight first;
- `cost`: cheapest first, by the price list (input + output price per million tokens); a
  deployment with no known price last.

Ties are broken at random, so equal deployments share the load. Whatever the strategy, the
deployments whose breaker lets a call through come before the ejected ones, which routing skips,
and so do those the active health checks did not find unhealthy.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import groupby

from twelve.modules.gateway.deployment_stats import StatsBoard
from twelve.modules.gateway.stages.price_list import PriceList
from twelve.modules.models.api import DeploymentRef

_UNPRICED = float("inf")


class Balancer:
    def __init__(self, stats: StatsBoard, prices: PriceList, rng: random.Random | None = None):
        self._stats = stats
        self._prices = prices
        self._random = rng or random.Random()
        self._price_keys: dict[str, float] = {}

    def order(self, plan: list[DeploymentRef], now: float) -> list[DeploymentRef]:
        """`plan` (sorted by priority) in the order this request should try it."""
        if len(plan) == 1:
            return plan
        key = self._key(plan[0].routing.strategy, now)
        ordered: list[DeploymentRef] = []
        for _, tier in groupby(plan, key=lambda d: d.priority):
            ordered += sorted(tier, key=key)
        board = self._stats
        # Stable: healthy first, each group in the strategy's order.
        return sorted(ordered, key=lambda d: not board.of(d).available(now))

    def _key(self, strategy: str, now: float) -> Callable[[DeploymentRef], tuple[float, float]]:
        draw = self._random.random
        if strategy == "weighted":
            # u^(1/w), largest first: the first is drawn with probability w / sum(w).
            return lambda d: (-(draw() ** (1.0 / d.weight)), 0.0)
        if strategy == "least-latency":
            board = self._stats
            return lambda d: (board.of(d).latency_at(now) or 0.0, draw())
        if strategy == "least-busy":
            board = self._stats
            return lambda d: (board.of(d).in_flight, draw())
        if strategy == "cost":
            return lambda d: (self._price_key(d), draw())
        return lambda d: (0.0, 0.0)  # priority: as configured (the sort is stable)

    def _price_key(self, deployment: DeploymentRef) -> float:
        key = self._price_keys.get(deployment.id)
        if key is None:
            price = self._prices.of(deployment)
            key = price.input + price.output if price.priced else _UNPRICED
            self._price_keys[deployment.id] = key
        return key
