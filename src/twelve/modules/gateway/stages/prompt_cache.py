"""Admission stage: the prompt cache. A hit ends the request here, before routing.

Runs after the credit hold (a hit may cost a fraction of its answer) and the rate limits (a hit
counts against them), only for models whose configuration has a `cache:` and keys that have not
turned it off. The key is the normalised request per customer (`cache_key.py`); a semantic
match (`semantic_index.py`) is tried when the model has one and the exact key missed.

A hit is a fresh copy of the stored answer, its `usage` marked cached
(`prompt_tokens_details.cached_tokens`), with `x-twelve-cache: hit`. A miss (`x-twelve-cache:
miss`) records the answer as it goes by; the returned settle stores it only when the request
ended well: a 200, or a stream that ended with `[DONE]`, whose every choice finished other than
in an error or a content filter, and no larger than the model's `max_entry_bytes`.
"""

from __future__ import annotations

import orjson

from twelve.kernel.errors import NotFound
from twelve.kernel.telemetry.metrics import CACHE_REQUESTS
from twelve.modules.gateway.cache_key import cache_key
from twelve.modules.gateway.cache_store import CacheStore
from twelve.modules.gateway.exchange import CachedAnswer, Exchange, Recording, Settle
from twelve.modules.gateway.pipeline import PlanCache
from twelve.modules.gateway.semantic_index import Probe, SemanticIndex
from twelve.modules.gateway.stages.allow_list import model_not_found
from twelve.modules.models.api import CacheConfig, DeploymentRef, JSONObject

HEADER = "x-twelve-cache"
# A stream chunk is at least this many bytes of JSON: bounds the chunks recorded per entry.
_MIN_CHUNK_BYTES = 32
_BAD_FINISH = frozenset({"error", "content_filter"})


class PromptCache:
    def __init__(
        self, store: CacheStore, plans: PlanCache, semantic: SemanticIndex | None = None
    ) -> None:
        self._store = store
        self._plans = plans
        self._semantic = semantic

    async def admit(self, exchange: Exchange) -> Settle | None:
        assert exchange.principal is not None  # authenticate runs first
        try:
            plan = await self._plans.plan(exchange.model, exchange.endpoint.capability)
        except NotFound:
            raise model_not_found(exchange.model) from None
        config = plan[0].routing.cache if plan else None
        if config is None:
            return None
        model = exchange.model
        if not exchange.principal.cache:  # the key turned the cache off
            _count(exchange, model, "miss")
            return None
        customer = exchange.principal.customer_id
        key = cache_key(customer, exchange.endpoint.name, exchange.body)
        stored = await self._store.get(key)
        semantic: Probe | None = None
        if stored is None and self._semantic is not None and config.semantic_model:
            semantic = await self._semantic.probe(exchange, config)
            if semantic is not None and semantic.match is not None:
                stored = await self._store.get(semantic.match)
        if stored is not None:
            cached = _decode(stored, plan, config)
            if cached is not None:
                exchange.cached = cached
                exchange.deployment = cached.deployment  # whose prices the fraction is of
                _count(exchange, model, "hit")
                return None
        _count(exchange, model, "miss")
        exchange.recording = Recording(config.max_entry_bytes // _MIN_CHUNK_BYTES)
        streamed = exchange.endpoint.streams(exchange.body)

        async def settle(ended: Exchange) -> None:
            recording = ended.recording
            if ended.outcome != "ok" or recording is None or not _finished_well(recording):
                return
            deployment = ended.deployment.id if ended.deployment else plan[0].id
            entry: JSONObject = {"deployment": deployment}
            if streamed:
                entry["chunks"] = recording.items
            else:
                entry["answer"] = recording.items[0]
            value = orjson.dumps(entry)
            if len(value) > config.max_entry_bytes:
                return
            await self._store.put(key, value, config.ttl_seconds)
            if semantic is not None and self._semantic is not None:
                self._semantic.add(semantic, key, config)

        return settle


def _count(exchange: Exchange, model: str, result: str) -> None:
    CACHE_REQUESTS.labels(model, result).inc()
    exchange.response_headers[HEADER] = result


def _finished_well(recording: Recording) -> bool:
    if recording.overflowed or not recording.items:
        return False
    for item in recording.items:
        choices = item.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if isinstance(choice, dict) and choice.get("finish_reason") in _BAD_FINISH:
                    return False
    return True


def _decode(stored: bytes, plan: list[DeploymentRef], config: CacheConfig) -> CachedAnswer | None:
    """A fresh answer from a stored entry (None when the entry is unreadable: a miss)."""
    try:
        entry = orjson.loads(stored)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(entry, dict):
        return None
    by_id = {d.id: d for d in plan}
    deployment = by_id.get(str(entry.get("deployment")), plan[0])
    answer, chunks = entry.get("answer"), entry.get("chunks")
    if isinstance(answer, dict):
        _mark_cached(answer)
        return CachedAnswer(deployment, answer, None, config.cost_fraction)
    if isinstance(chunks, list) and chunks and all(isinstance(c, dict) for c in chunks):
        for chunk in chunks:
            _mark_cached(chunk)
        return CachedAnswer(deployment, None, chunks, config.cost_fraction)
    return None


def _mark_cached(answer: JSONObject) -> None:
    """Every prompt token of a hit was cached: say so as OpenAI does."""
    usage = answer.get("usage")
    if not isinstance(usage, dict):
        return
    prompt = usage.get("prompt_tokens")
    if not isinstance(prompt, int) or "completion_tokens" not in usage:  # embeddings: no such field
        return
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    details["cached_tokens"] = prompt
    usage["prompt_tokens_details"] = details
