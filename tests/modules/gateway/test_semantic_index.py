"""The semantic index: near prompts of one group match at the threshold, other groups and other
customers never do, entries expire and the index stays bounded, a failing embedding is a miss."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.endpoints import ENDPOINTS
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.semantic_index import SemanticIndex
from twelve.modules.models.api import CacheConfig, DeploymentRef, JSONObject

CHAT = next(e for e in ENDPOINTS if e.name == "chat_completions")
CONFIG = CacheConfig(ttl_seconds=60, semantic_model="embed", semantic_threshold=0.9)
# Text -> the vector the fake embeddings port gives it.
VECTORS = {
    "what is the capital of france": [1.0, 0.0, 0.0],
    "what's the capital of france?": [0.95, 0.2, 0.0],  # cosine ~0.978
    "tell me a joke": [0.0, 1.0, 0.0],
}


class Embeddings:
    def __init__(self) -> None:
        self.calls: list[JSONObject] = []
        self.fail = False

    async def embed(self, deployment_id: str, body: JSONObject) -> JSONObject:
        self.calls.append(body)
        if self.fail:
            raise RuntimeError("embeddings upstream down")
        return {"data": [{"embedding": VECTORS[body["input"]], "index": 0}]}


class Plans:
    async def plan(self, model: str, capability: str) -> list[DeploymentRef]:
        ref = DeploymentRef(
            id="e1", model=model, provider="openai", upstream_model="e", base_url=""
        )
        return [ref]


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def exchange(text: str, customer: str = "c1", **extra: Any) -> Exchange:
    async def read(_schema: type[BaseModel]) -> JSONObject:
        return {}

    body = {"model": "chat", "messages": [{"role": "user", "content": text}], **extra}
    principal = Principal(key_id="k", customer_id=customer, models=None)
    return Exchange(CHAT, "t", read, principal=principal, body=body)


@pytest.fixture
def index() -> tuple[SemanticIndex, Embeddings, Clock]:
    embeddings, clock = Embeddings(), Clock()
    return SemanticIndex(embeddings, Plans(), max_per_group=2, clock=clock), embeddings, clock  # type: ignore[arg-type]


async def test_a_near_prompt_matches_and_a_far_one_does_not(
    index: tuple[SemanticIndex, Embeddings, Clock],
) -> None:
    semantic, embeddings, _clock = index
    first = await semantic.probe(exchange("what is the capital of france"), CONFIG)
    assert first is not None and first.match is None
    semantic.add(first, "key-1", CONFIG)
    near = await semantic.probe(exchange("what's the capital of france?"), CONFIG)
    assert near is not None and near.match == "key-1"
    far = await semantic.probe(exchange("tell me a joke"), CONFIG)
    assert far is not None and far.match is None
    assert embeddings.calls[0] == {"model": "embed", "input": "what is the capital of france"}


@pytest.mark.parametrize("other", [{"customer": "c2"}, {"temperature": 0.5}, {"stream": True}])
async def test_only_the_same_customer_and_fields_match(
    index: tuple[SemanticIndex, Embeddings, Clock], other: dict[str, Any]
) -> None:
    semantic, _embeddings, _clock = index
    first = await semantic.probe(exchange("what is the capital of france"), CONFIG)
    assert first is not None
    semantic.add(first, "key-1", CONFIG)
    probe = await semantic.probe(exchange("what's the capital of france?", **other), CONFIG)
    assert probe is not None and probe.match is None


async def test_entries_expire_and_groups_stay_bounded(
    index: tuple[SemanticIndex, Embeddings, Clock],
) -> None:
    semantic, _embeddings, clock = index
    probe = await semantic.probe(exchange("what is the capital of france"), CONFIG)
    assert probe is not None
    for n in range(5):
        semantic.add(probe, f"key-{n}", CONFIG)
    assert len(semantic) == 2  # max_per_group
    clock.now += 61
    again = await semantic.probe(exchange("what is the capital of france"), CONFIG)
    assert again is not None and again.match is None


async def test_a_failing_embedding_is_a_miss(
    index: tuple[SemanticIndex, Embeddings, Clock],
) -> None:
    semantic, embeddings, _clock = index
    embeddings.fail = True
    assert await semantic.probe(exchange("tell me a joke"), CONFIG) is None


async def test_only_a_text_last_user_message_is_embedded(
    index: tuple[SemanticIndex, Embeddings, Clock],
) -> None:
    semantic, embeddings, _clock = index
    assistant_last = exchange("x")
    assistant_last.body["messages"].append({"role": "assistant", "content": "y"})
    assert await semantic.probe(assistant_last, CONFIG) is None
    image = exchange("x")
    image.body["messages"][-1]["content"] = [{"type": "image_url", "image_url": {"url": "u"}}]
    assert await semantic.probe(image, CONFIG) is None
    assert embeddings.calls == []
