"""The bad-input corpus: hostile bodies, paths, methods and headers, as data.

Each entry is sent by `tests/app/test_bad_input_corpus.py` to the routes it fits. The answer must
be a served 2xx or an OpenAI-shaped 4xx, never a 5xx or a traceback, and a refused request must
write nothing. Add a case here when a new kind of bad input is found.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

HELLO = [{"role": "user", "content": "hi"}]
VALID: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "echo", "messages": HELLO},
    "/v1/completions": {"model": "echo", "prompt": "hi"},
    "/v1/embeddings": {"model": "echo", "input": "hi"},
    "/admin/v1/customers": {"name": "corpus"},
    "/admin/v1/keys": {"customer_id": "cus_x", "name": "k"},
    # Routes with an id in their path: the suite fills in a real customer's or key's.
    "PATCH /admin/v1/keys/{key_id}": {
        "name": "k",
        "rpm": 5,
        "budget": {"amount": 1, "period": "day"},
        "expires_at": int(time.time()) + 365 * 86400,
    },
    "POST /admin/v1/keys/{key_id}/rotate": {"grace_seconds": 60},
    "PATCH /admin/v1/customers/{customer}": {"name": "renamed", "tpm": 1000},
}

# Fields a route takes beyond its valid body's, mutated like the others.
_LIMITS = ["rpm", "tpm", "max_concurrency"]
_MORE_FIELDS: dict[str, list[str]] = {
    "/admin/v1/customers": _LIMITS,
    "/admin/v1/keys": [*_LIMITS, "budget", "expires_at"],
    "PATCH /admin/v1/keys/{key_id}": ["models", "tpm", "max_concurrency"],
    "PATCH /admin/v1/customers/{customer}": ["rpm", "max_concurrency"],
}
# Values wrong for a budget object's members.
_BUDGETS = {
    "budget.amount": [-1, 0, "", "lots", True, 1e300, 2**63 - 1, "0.0000001", "NaN", None],
    "budget.period": ["week", "", None, 1, "DAY"],
}


def deep(depth: int, kind: str = "list") -> bytes:
    opening, closing = (b"[", b"]") if kind == "list" else (b'{"a":', b"}")
    return opening * depth + b"1" + closing * depth


# Raw bodies that are not a usable JSON object, sent to every POST route.
RAW_BODIES: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b" \n\t ",
    "truncated": b'{"model": "echo", "messages": [',
    "single_quotes": b"{'model': 'echo'}",
    "trailing_comma": b'{"model": "echo",}',
    "nan_literal": b'{"model": "echo", "temperature": NaN}',
    "infinity": b'{"model": "echo", "temperature": Infinity}',
    "huge_number": b'{"model": "echo", "temperature": 1e400}',
    "huge_integer": b'{"model": "echo", "max_tokens": 123456789012345678901234567890}',
    "array": b"[]",
    "array_of_objects": b'[{"model": "echo"}]',
    "string": b'"hello"',
    "number": b"42",
    "null": b"null",
    "true": b"true",
    "nul_byte": b'{"model": "echo"\x00}',
    "utf8_bom": b'\xef\xbb\xbf{"model": "echo"}',
    "latin1": b'{"model": "\xe9cho"}',
    "invalid_utf8": b'{"model": "\xff\xfe"}',
    "lone_surrogate": b'{"model": "\\ud800"}',
    "deep_list_300": deep(300),
    "deep_object_300": deep(300, "object"),
    "deep_list_5000": deep(5000),
    "duplicate_keys": b'{"model": "echo", "model": 5}',
    "binary": bytes(range(256)),
}

# Values that are wrong for almost any field, each put in place of every known field.
WRONG_VALUES: dict[str, Any] = {
    "null": None,
    "true": True,
    "zero": 0,
    "negative": -1,
    "float": 1.5,
    "big_int": 2**63 - 1,
    "empty_string": "",
    "string": "yes",
    "empty_list": [],
    "list_of_ints": [1, 2],
    "empty_object": {},
    "object": {"a": {"b": [1]}},
}

# Strings that are hostile by content, put in place of every string-typed field.
HOSTILE_STRINGS: dict[str, str] = {
    "nul": "a\x00b",
    "controls": "".join(chr(c) for c in range(1, 32)),
    "del_and_c1": "\x7f\x80\x9f",
    "rtl_override": "\u202eevil",
    "zero_width": "\u200b\ufeff",
    "emoji": "\U0001f600" * 50,
    "combining": "e" + "\u0301" * 500,
    "huge": "x" * 1_000_000,
    "newlines": "a\r\nb\nc",
    "path_traversal": "../../etc/passwd",
    "sql": "'; DROP TABLE customers; --",
    "format": "%s%n{0}{__class__}",
}

# Path segments put where a route takes an id.
HOSTILE_SEGMENTS = [
    "%00", "%0a", "..%2f..", "x" * 5000, "%ff", "%F0%9F%98%80", "a%20b", "*", "null", "-1",
]  # fmt: skip

# Headers sent with an otherwise good request.
HOSTILE_HEADERS: dict[str, dict[str, str]] = {
    "bearer_empty": {"authorization": "Bearer "},
    "bearer_spaces": {"authorization": "Bearer    "},
    "basic": {"authorization": "Basic dXNlcjpwYXNz"},
    "bearer_huge": {"authorization": "Bearer " + "a" * 60_000},
    "bearer_controls": {"authorization": "Bearer tw-\x01\x02"},
    "content_type_form": {"content-type": "application/x-www-form-urlencoded"},
    "content_type_multipart": {"content-type": "multipart/form-data; boundary=x"},
    "content_type_garbage": {"content-type": ";;;=="},
    "request_id_garbage": {"x-request-id": "<script>" + "x" * 300},
    "traceparent_garbage": {"traceparent": "00-zz-yy-01"},
    "traceparent_zero": {"traceparent": "00-" + "0" * 32 + "-" + "0" * 16 + "-01"},
    "accept_weird": {"accept": "text/html;q=abc"},
    "content_encoding_gzip": {"content-encoding": "gzip"},
}

# Valid requests the fake upstream does not implement (it answers 500): not bad input.
_UNSERVED_BY_THE_FAKE = {("/v1/completions", "prompt", "list_of_ints")}

WRONG_METHODS = ["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def mutated_bodies(route: str) -> dict[str, bytes]:
    """Every field of the route's valid body replaced by each wrong value and hostile string,
    plus nested fields the schemas type (messages, tools) broken the same way."""
    valid = VALID[route]
    out: dict[str, bytes] = {}
    extra_fields = ["stream", "stream_options", "tools", "tool_choice", "n", "max_tokens",
                    "temperature", "stop", "user", "models"]  # fmt: skip
    if route.startswith(("PATCH ", "POST ")):  # an admin route of one thing: no model fields
        extra_fields = []
    extra_fields += [f for f in _MORE_FIELDS.get(route, []) if f not in extra_fields]
    if "budget" in [*valid, *extra_fields]:
        for member, values in _BUDGETS.items():
            for value in values:
                budget = {"amount": 1, "period": "day"} | {member.split(".")[1]: value}
                out[f"{member}={value!r}"] = orjson.dumps(valid | {"budget": budget})
    for field in [*valid, *extra_fields]:
        for name, value in {**WRONG_VALUES, **HOSTILE_STRINGS}.items():
            if (route, field, name) not in _UNSERVED_BY_THE_FAKE:
                out[f"{field}={name}"] = orjson.dumps(valid | {field: value})
        out[f"{field}=missing"] = orjson.dumps({k: v for k, v in valid.items() if k != field})
    if route == "/v1/chat/completions":
        for name, value in WRONG_VALUES.items():
            out[f"messages[0]={name}"] = orjson.dumps(valid | {"messages": [value]})
            for member in ("role", "content", "tool_calls", "name"):
                message = {"role": "user", "content": "hi", member: value}
                out[f"messages[0].{member}={name}"] = orjson.dumps(valid | {"messages": [message]})
            part = {"type": "text", "text": value}
            message = {"role": "user", "content": [part]}
            out[f"content_part.text={name}"] = orjson.dumps(valid | {"messages": [message]})
    return out


# Multipart bodies for `POST /v1/files` that must be refused (boundary `b0`), beyond the raw
# bodies above: missing parts, wrong parts, hostile names, broken framing.
FILES_CONTENT_TYPE = "multipart/form-data; boundary=b0"


def form_part(name: str, value: bytes, filename: bytes | None = None) -> bytes:
    disposition = b'form-data; name="' + name.encode() + b'"'
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
    return b"--b0\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + value + b"\r\n"


_PURPOSE = form_part("purpose", b"batch")
_FILE = form_part("file", b"content", b"a.txt")
_END = b"--b0--\r\n"
HOSTILE_UPLOADS: dict[str, bytes] = {
    "no_parts": _END,
    "no_file": _PURPOSE + _END,
    "no_purpose": _FILE + _END,
    "file_as_field": _PURPOSE + form_part("file", b"text") + _END,
    "purpose_unknown": form_part("purpose", b"job_result") + _FILE + _END,
    "purpose_empty": form_part("purpose", b"") + _FILE + _END,
    "purpose_huge": form_part("purpose", b"x" * 100_000) + _FILE + _END,
    "purpose_as_file": form_part("purpose", b"batch", b"p.txt") + _FILE + _END,
    "two_files": _PURPOSE + _FILE + _FILE + _END,
    "filename_controls": _PURPOSE + form_part("file", b"x", b"a\x00\x1b\x7fb") + _END,
    "filename_huge": _PURPOSE + form_part("file", b"x", b"n" * 5000) + _END,
    "many_fields": b"".join(form_part(f"f{i}", b"v") for i in range(50)) + _FILE + _END,
    "unterminated": _PURPOSE + b'--b0\r\nContent-Disposition: form-data; name="file"',
    "no_boundary_line": b"purpose=batch",
}
