"""The gateway asks the models module for a plan once per model and capability, and never keeps
a refusal (so made-up model names fill nothing)."""

from __future__ import annotations

import pytest

from twelve.kernel.errors import NotFound
from twelve.modules.gateway.pipeline import PlanCache
from twelve.modules.models.api import Capability, DeploymentRef, ModelCard


class CountingModels:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.listed = 0
        self.deployment = DeploymentRef(
            id="d1", model="m", provider="openai", upstream_model="m", base_url="http://x"
        )

    async def plan(self, model: str, capability: Capability) -> list[DeploymentRef]:
        self.asked.append((model, capability))
        if model != "m":
            raise NotFound("no such model")
        return [self.deployment]

    async def list_models(self) -> list[ModelCard]:
        self.listed += 1
        return []


async def test_a_plan_is_asked_once_and_a_refusal_every_time() -> None:
    models = CountingModels()
    cache = PlanCache(models)  # type: ignore[arg-type]
    first = await cache.plan("m", "chat")
    first.clear()  # a caller's copy: the cached plan stays whole
    assert await cache.plan("m", "chat") == [models.deployment]
    await cache.plan("m", "embeddings")
    for _ in range(2):
        with pytest.raises(NotFound):
            await cache.plan("made-up", "chat")
    made_up = ("made-up", "chat")
    assert models.asked == [("m", "chat"), ("m", "embeddings"), made_up, made_up]
    await cache.list_models()
    await cache.list_models()
    assert models.listed == 1
