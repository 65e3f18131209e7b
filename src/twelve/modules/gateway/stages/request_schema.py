"""The body, read and checked against the endpoint's request schema (after the key, so that
anonymous callers cannot make the gateway parse large bodies)."""

from __future__ import annotations

from twelve.modules.gateway.exchange import Exchange, Settle


class ReadBody:
    async def admit(self, exchange: Exchange) -> Settle | None:
        exchange.body = await exchange.read_body(exchange.endpoint.schema)
        return None
