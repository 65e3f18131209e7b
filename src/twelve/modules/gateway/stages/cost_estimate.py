"""A request's cost: the worst case before it runs, the actual one from its usage.

Input tokens are counted offline with `bpe-openai` (o200k_base; tiktoken would download its
tables at run time) over every piece of text the request sends, plus a few tokens of framing per
message; the output is `max_completion_tokens`/`max_tokens` (or the configured default) times
`n`. The hold first uses `input_bound`, which needs no tokenizer (a token is at least one byte),
and counts tokens only when that bound is refused. Prices are USD per million tokens, which is
exactly micro-dollars per token: a cost is computed in millionths of a micro-dollar and rounded
up once, so it is never a float.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from decimal import ROUND_CEILING, Decimal
from functools import cache
from typing import Any

from twelve.modules.gateway.stages.price_list import Price
from twelve.modules.gateway.stages.unit_cost import units_micros, usage_units
from twelve.modules.models.api import JSONObject

# The fields whose text reaches the model (chat, completions, embeddings).
_TEXT_FIELDS = ("messages", "prompt", "input", "tools", "functions", "system")
# Text up to this many characters is counted on the event loop (about a millisecond).
INLINE_CHARS = 32 * 1024
# Role, separators and the reply's priming, per message (OpenAI's published rule of thumb).
_PER_MESSAGE = 4
_PER_REQUEST = 3


@cache
def _encoding() -> Any:
    # Imported on first use: loading the tables takes a moment, and bpe-openai 0.1.4 reads them
    # with importlib.resources' deprecated `open_binary` (a warning we cannot fix from here).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai  # type: ignore[import-untyped]

        return bpe_openai.get_encoding("o200k_base")


async def input_tokens(body: JSONObject) -> int:
    """The request's input tokens; a large body is counted in a worker thread so that the event
    loop keeps serving (a peer chooses the size, up to the body limit)."""
    texts, framing = _texts(body)
    if sum(len(t) for t in texts) > INLINE_CHARS:
        counted = await asyncio.to_thread(_count_texts, texts)
    else:
        counted = _count_texts(texts)
    return counted + framing


def input_bound(body: JSONObject) -> int:
    """At least `input_tokens(body)`, without the tokenizer: a token is at least one byte of
    UTF-8 (byte-level BPE), so the byte count bounds the token count."""
    texts, framing = _texts(body)
    return sum(len(t) if t.isascii() else len(t.encode()) for t in texts) + framing


def _texts(body: JSONObject) -> tuple[list[str], int]:
    """Every text the request sends, and the tokens of framing around them."""
    texts = [s for name in _TEXT_FIELDS for s in _strings(body.get(name))]
    messages = body.get("messages")
    framing = _PER_MESSAGE * len(messages) if isinstance(messages, list) else 0
    return texts, framing + _PER_REQUEST


def _count_texts(texts: list[str]) -> int:
    encoding = _encoding()
    total = 0
    for text in texts:
        try:
            total += len(encoding.encode_ordinary(text))
        except ValueError:  # "Input too long to encode safely": one huge run without breaks
            total += len(text.encode())  # a token is at least one byte: an upper bound
    return total


def output_tokens(body: JSONObject, default: int) -> int:
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    n = body.get("n")
    count = n if isinstance(n, int) and n > 0 else 1
    return (limit if isinstance(limit, int) and limit > 0 else default) * count


def price_micros_per_mtok(usd_per_mtok: float | None) -> int:
    """Micro-dollars per million tokens, rounded up."""
    if not usd_per_mtok:
        return 0
    scaled = Decimal(str(usd_per_mtok)) * 1_000_000
    return int(scaled.to_integral_value(rounding=ROUND_CEILING))


def cost_micros(price: Price, prompt: int, completion: int) -> int:
    total = prompt * price_micros_per_mtok(price.input) + (
        completion * price_micros_per_mtok(price.output)
    )
    return -(-total // 1_000_000)  # rounded up, in integers


def usage_cost(price: Price, usage: JSONObject) -> int | None:
    """The cost of `usage` (tokens, and units: images, seconds, characters); None when it
    counts neither (so the cost is unknown)."""
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    units = usage_units(usage)
    if not isinstance(prompt, int) and not isinstance(completion, int) and units is None:
        return None
    tokens = cost_micros(price, _count(prompt), _count(completion))
    return tokens + (units_micros(price, *units) if units is not None else 0)


def _count(value: object) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
