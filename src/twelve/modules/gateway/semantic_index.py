"""The semantic half of the prompt cache: near-identical chat prompts share an answer.

For a model with `semantic_model` and `semantic_threshold`, a chat request that misses the exact
key is embedded (its last user message, through the gateway's own embeddings port, on the
semantic model's first deployment: the operator's cost, never billed to the customer) and
compared by cosine similarity with the entries of its *group*: the same customer, endpoint and
every other field of the request (model, earlier messages, parameters), so only the last user
message may differ. The best match at or above the threshold is a hit on that entry's exact key.

The index is in this process's memory (pure Python; vectors are unit-normalised once, so the
similarity is a dot product) and bounded: `max_per_group` entries per group, `max_groups`
groups (least recently used first out), and an entry expires with its cache TTL. The answers
themselves stay in the exact store, so an entry whose answer expired there is simply a miss.
An embedding that fails is a miss (logged once until one works again), never an error.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from twelve.kernel.telemetry.logging import get_logger
from twelve.modules.embeddings.api import EmbeddingsService
from twelve.modules.gateway.cache_key import cache_key
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.pipeline import PlanCache
from twelve.modules.models.api import CacheConfig, JSONObject

log = get_logger("twelve.gateway.semantic_index")

# Longest last-user-message embedded, in characters (longer prompts are left to the exact key).
MAX_TEXT_CHARS = 8000


@dataclass(frozen=True, slots=True)
class Probe:
    """One request's place in the index: its group, its vector, and the key it matched."""

    group: str
    vector: tuple[float, ...]
    match: str | None


@dataclass(frozen=True, slots=True)
class _Entry:
    vector: tuple[float, ...]
    key: str
    expires_at: float


class SemanticIndex:
    def __init__(
        self,
        embeddings: EmbeddingsService,
        plans: PlanCache,
        *,
        max_groups: int = 10_000,
        max_per_group: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._embeddings = embeddings
        self._plans = plans
        self._max_groups = max_groups
        self._max_per_group = max_per_group
        self._clock = clock
        self._groups: OrderedDict[str, deque[_Entry]] = OrderedDict()
        self._failing = False

    async def probe(self, exchange: Exchange, config: CacheConfig) -> Probe | None:
        """Where `exchange` belongs, and the key of its best match (None: not a chat request
        with a text last user message, or its embedding failed)."""
        assert exchange.principal is not None and config.semantic_threshold is not None
        split = _last_user_text(exchange.body)
        if split is None or exchange.endpoint.capability != "chat":
            return None
        text, rest = split
        vector = await self._embed(text, config)
        if vector is None:
            return None
        group = cache_key(exchange.principal.customer_id, exchange.endpoint.name, rest)
        return Probe(group, vector, self._best(group, vector, config.semantic_threshold))

    def add(self, probe: Probe, key: str, config: CacheConfig) -> None:
        entries = self._groups.get(probe.group)
        if entries is None:
            entries = self._groups[probe.group] = deque(maxlen=self._max_per_group)
            while len(self._groups) > self._max_groups:
                self._groups.popitem(last=False)
        self._groups.move_to_end(probe.group)
        entries.append(_Entry(probe.vector, key, self._clock() + config.ttl_seconds))

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._groups.values())

    def _best(self, group: str, vector: tuple[float, ...], threshold: float) -> str | None:
        entries = self._groups.get(group)
        if not entries:
            return None
        now = self._clock()
        while entries and entries[0].expires_at <= now:  # oldest first: expired ones lead
            entries.popleft()
        best, best_score = None, threshold
        for entry in entries:
            if entry.expires_at <= now or len(entry.vector) != len(vector):
                continue
            score = sum(a * b for a, b in zip(entry.vector, vector, strict=True))
            if score >= best_score:
                best, best_score = entry.key, score
        if best is not None:
            self._groups.move_to_end(group)
        return best

    async def _embed(self, text: str, config: CacheConfig) -> tuple[float, ...] | None:
        assert config.semantic_model is not None
        try:
            plan = await self._plans.plan(config.semantic_model, "embeddings")
            answer = await self._embeddings.embed(
                plan[0].id, {"model": config.semantic_model, "input": text}
            )
            vector = _unit(answer)
        except Exception as exc:  # a failed embedding is a miss, never the client's error
            if not self._failing:
                self._failing = True
                log.warning("semantic_embedding_failed", cause=f"{type(exc).__name__}: {exc}"[:300])
            return None
        self._failing = False
        return vector


def _last_user_text(body: JSONObject) -> tuple[str, JSONObject] | None:
    """The last message's text when it is the user's, and the body without it."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return None
    content = last.get("content")
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if len(parts) != len(content):
            return None  # images, audio: only text is compared
        content = "\n".join(p for p in parts if isinstance(p, str))
    if not isinstance(content, str) or not content.strip() or len(content) > MAX_TEXT_CHARS:
        return None
    rest = dict(body)
    rest["messages"] = [*messages[:-1], {k: v for k, v in last.items() if k != "content"}]
    return content, rest


def _unit(answer: JSONObject) -> tuple[float, ...]:
    data = answer.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise ValueError("the embeddings answer has no data")
    raw = data[0].get("embedding")
    if not isinstance(raw, list) or not raw or not all(isinstance(x, int | float) for x in raw):
        raise ValueError("the embedding is not a list of numbers")
    norm = math.sqrt(sum(float(x) * float(x) for x in raw))
    if norm == 0 or not math.isfinite(norm):
        raise ValueError("the embedding has no direction")
    return tuple(float(x) / norm for x in raw)
