"""The key's model allow-list, with OpenAI's rule: a model the key may not see does not exist.

A refused model and an unknown one get the same 404 `model_not_found` with the same message, on
every route (so a key cannot probe which models are configured).
"""

from __future__ import annotations

from twelve.kernel.errors import NotFound
from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.exchange import Exchange, Settle


def model_not_found(model: str) -> NotFound:
    return NotFound(
        f"The model `{model}` does not exist or you do not have access to it.",
        param="model",
        code="model_not_found",
    )


def check_allowed(principal: Principal, model: str) -> None:
    if not principal.may_use(model):
        raise model_not_found(model)


class AllowList:
    async def admit(self, exchange: Exchange) -> Settle | None:
        assert exchange.principal is not None, "AllowList runs after Authenticate"
        check_allowed(exchange.principal, exchange.model)
        return None
