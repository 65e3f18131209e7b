"""Admission stage: an endpoint that no configured model serves says how to configure one.

Image generation has no local model (none ships its weights): with no upstream configured for it,
a request names the config that would serve it rather than only "model not found". Only
endpoints whose descriptor carries such a hint (`Endpoint.unconfigured`) are checked, against the
cached model list (no call per request).
"""

from __future__ import annotations

from typing import Protocol

from twelve.kernel.errors import NotFound
from twelve.modules.gateway.exchange import Exchange, Settle
from twelve.modules.models.api import ModelCard


class ModelsList(Protocol):
    async def list_models(self) -> list[ModelCard]: ...


class CapabilityOffered:
    def __init__(self, models: ModelsList) -> None:
        self._models = models

    async def admit(self, exchange: Exchange) -> Settle | None:
        endpoint = exchange.endpoint
        if endpoint.unconfigured is None:
            return None
        cards = await self._models.list_models()
        if any(endpoint.capability in card.capabilities for card in cards):
            return None
        raise NotFound(endpoint.unconfigured, param="model", code="model_not_found")
