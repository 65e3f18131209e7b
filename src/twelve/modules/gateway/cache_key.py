"""The prompt cache's key: SHA-256 of the normalised request, per customer.

Everything that shapes the answer is in the key: the customer (one tenant never reads another's
entry), the endpoint, the model, the messages/prompt/input and every other field the client sent
(temperature, top_p, max_tokens, tools, response_format, seed, stop, n, ...), with the fields
that do not change the answer left out: `stream_options` and `user` (and `metadata` and `store`,
which only label the request). Whether the answer is a stream is part of the key: a stream's
entry is its chunks, replayed as they came; a non-stream entry is the answer object.

The body is written as canonical JSON (keys sorted at every level, no spaces) before hashing, so
two bodies that differ only in key order share an entry. Integers and floats stay apart
(`1` and `1.0` are two keys): only a miss, never a wrong answer.
"""

from __future__ import annotations

import hashlib

import orjson

from twelve.modules.models.api import JSONObject

# Fields that never change what the upstream answers.
IGNORED_FIELDS = frozenset({"stream", "stream_options", "user", "metadata", "store"})


def normalised(customer_id: str, endpoint: str, body: JSONObject) -> JSONObject:
    """What the key is a hash of."""
    fields = {k: v for k, v in body.items() if k not in IGNORED_FIELDS}
    return {
        "customer": customer_id,
        "endpoint": endpoint,
        "stream": body.get("stream") is True,
        "request": fields,
    }


def cache_key(customer_id: str, endpoint: str, body: JSONObject) -> str:
    canonical = orjson.dumps(normalised(customer_id, endpoint, body), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()
