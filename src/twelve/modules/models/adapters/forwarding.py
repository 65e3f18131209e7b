"""The forwarding policy: request fields a customer may set that bill or store on the operator's
upstream account are forwarded only when the model's `allow_fields` lists them.

`store` keeps the completion in the operator's OpenAI account (and bills its storage);
`service_tier` picks a pricier tier ("priority", "flex" trade-offs) on the operator's bill.
`metadata` is policed but allowed by default: on its own it is tags with no cost, and it is only
kept upstream together with `store`, which is dropped by default. Applied once, around the
generic port, so every operation and protocol obeys it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from twelve.modules.models.adapters.port import ProviderPort
from twelve.modules.models.api import JSONObject, Operation

POLICED_FIELDS = frozenset({"store", "service_tier", "metadata"})
DEFAULT_ALLOWED = frozenset({"metadata"})


class ForwardingPolicy:
    """A `ProviderPort` that drops the policed fields not in `allowed`, then calls `inner`."""

    def __init__(self, inner: ProviderPort, allowed: frozenset[str] = DEFAULT_ALLOWED) -> None:
        self._inner = inner
        self._dropped = POLICED_FIELDS - allowed

    async def call(
        self, operation: Operation, body: JSONObject, headers: Mapping[str, str]
    ) -> JSONObject:
        return await self._inner.call(operation, self._filter(body), headers)

    def stream(
        self, operation: Operation, body: JSONObject, headers: Mapping[str, str]
    ) -> AsyncIterator[JSONObject]:
        return self._inner.stream(operation, self._filter(body), headers)

    def _filter(self, body: JSONObject) -> JSONObject:
        if self._dropped.isdisjoint(body):
            return body
        return {k: v for k, v in body.items() if k not in self._dropped}
