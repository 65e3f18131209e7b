"""What an admission stage is: one job, run in order before a request is routed.

A stage refuses a request by raising a `TwelveError`. A stage that takes something at admission
(a credit hold, a concurrency slot) returns a `Settle`: the finaliser calls it exactly once when
the request ends, however it ends, with the final usage (or None when it is unknown).
"""

from __future__ import annotations

from typing import Protocol

from twelve.modules.gateway.exchange import Exchange, Settle


class Stage(Protocol):
    async def admit(self, exchange: Exchange) -> Settle | None: ...
