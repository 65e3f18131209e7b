"""What the fake upstream does for a request, chosen by the upstream model id it names.

- any ordinary id: echo ("echo: " + the last user text, or the last tool result)
- `fail-<status>`: that HTTP status with an error body in the protocol's shape
- `fail-context` / `fail-filter`: the provider's real context-length / content-filter 400
- `slow-<ms>`: wait, then echo
- `flaky-<n>`: 503 for the first n calls (per model id and server), then echo
- `cut-<n>`: send n stream events, then drop the connection (no response at all when not
  streaming)
- `midfail-<n>`: send n stream events, then an error event in the protocol's shape
- `stall-<n>`: send n stream events, then nothing for a minute (a hung upstream)
- `tool`: call the first tool given (unless the last message is a tool result: then echo it)

Token counts are words: prompt_tokens counts every word of input text (system, messages, tool
results), completion_tokens the words of the reply (of the arguments JSON for a tool call).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

_PATTERN = re.compile(r"(fail|slow|flaky|cut|midfail|stall)-(\d+)")


@dataclass(frozen=True, slots=True)
class Behaviour:
    kind: str  # echo, fail, context, filter, slow, flaky, cut, midfail, stall, tool
    number: int = 0


def behaviour_for(model: str) -> Behaviour:
    if model == "tool":
        return Behaviour("tool")
    if model == "fail-context":
        return Behaviour("context")
    if model == "fail-filter":
        return Behaviour("filter")
    match = _PATTERN.fullmatch(model)
    if match:
        return Behaviour(match.group(1), int(match.group(2)))
    return Behaviour("echo")


def words(text: str) -> int:
    return len(text.split())


def pieces(text: str) -> list[str]:
    """One word (with the whitespace after it) per piece; joined they are `text` again."""
    found = re.findall(r"\S+\s*", text)
    return found or [text]


def truncate(text: str, max_words: int | None) -> tuple[str, bool]:
    """`text` cut to `max_words` words, and whether it was cut."""
    if max_words is None or words(text) <= max_words:
        return text, False
    return "".join(pieces(text)[:max_words]).rstrip(), True


def tool_arguments(tool_schema: Any, text: str) -> dict[str, Any]:
    """Arguments for a tool call: every string parameter gets `text`."""
    properties = tool_schema.get("properties") if isinstance(tool_schema, dict) else None
    arguments: dict[str, Any] = {}
    for name, schema in (properties or {}).items():
        kind = schema.get("type") if isinstance(schema, dict) else None
        arguments[name] = {"number": 1, "integer": 1, "boolean": True}.get(str(kind), text)
    return arguments


def vector(item: Any, dimensions: int) -> list[float]:
    """A deterministic unit vector from a hash of one embeddings input."""
    seed = json.dumps(item, sort_keys=True).encode()
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        values += [(b - 127.5) / 127.5 for b in digest]
        counter += 1
    values = values[:dimensions]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def encode_base64(values: list[float]) -> str:
    """The `encoding_format: base64` form OpenAI uses: little-endian float32s."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
