"""`local-classify` and `local-summarize`, both on the embedding model (one model in memory).

Zero-shot classification scores each label by the cosine between the text and the label (its
description when given), then a softmax over the labels with a temperature that spreads MiniLM's
narrow cosine range. Extractive summarisation is LexRank on sentence embeddings: sentences are
ranked by PageRank over their cosine-similarity graph and the best are returned in their original
order. Sentences are split by a regular expression (sumy's default tokenizer downloads NLTK data
at run time, which this sidecar never does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from twelve.sidecar.embedder import Embedder

# Cosine similarities of MiniLM sit in a narrow band; this spreads them into probabilities.
TEMPERATURE = 0.05
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
DAMPING = 0.85


@dataclass(frozen=True)
class Scored:
    label: str
    score: float


def classify(embedder: Embedder, text: str, labels: dict[str, str]) -> tuple[list[Scored], int]:
    """Labels with probabilities, best first, and the tokens read."""
    names = list(labels)
    vectors, tokens = embedder.embed([text, *(labels[n] or n for n in names)])
    cosines = vectors[1:] @ vectors[0]
    weights = np.exp((cosines - cosines.max()) / TEMPERATURE)
    probabilities = weights / weights.sum()
    ranked = sorted(zip(names, probabilities, strict=True), key=lambda p: -p[1])
    return [Scored(name, round(float(p), 6)) for name, p in ranked], tokens


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def summarize(embedder: Embedder, text: str, count: int) -> tuple[list[str], int]:
    """The `count` most central sentences, in their original order, and the tokens read."""
    found = sentences(text)
    if len(found) <= count:
        return found, embedder.count_tokens(found) if found else 0
    vectors, tokens = embedder.embed(found)
    similarity = np.clip(vectors @ vectors.T, 0.0, None)
    np.fill_diagonal(similarity, 0.0)
    totals = similarity.sum(axis=1, keepdims=True)
    transition = np.divide(similarity, totals, out=np.zeros_like(similarity), where=totals > 0)
    rank = np.full(len(found), 1.0 / len(found))
    for _ in range(50):
        updated = (1 - DAMPING) / len(found) + DAMPING * transition.T @ rank
        if np.abs(updated - rank).sum() < 1e-6:
            rank = updated
            break
        rank = updated
    best = sorted(np.argsort(-rank)[:count])
    return [found[i] for i in best], tokens
