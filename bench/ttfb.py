"""Time to first byte of a streamed chat completion at concurrency 1.

wrk measures whole responses, so this one case uses a plain blocking HTTP/1.1 client on one
keep-alive connection: the clock runs from sending the request to the first byte of the body
(the first SSE event). The client's own cost is the same for every target, so differences
between targets are the targets'.
"""

from __future__ import annotations

import http.client
import json
import time

from bench.procs import BenchError

BODY = json.dumps(
    {
        "model": "",  # filled per target
        "messages": [
            {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
            {"role": "user", "content": "Explain in two sentences what an AI gateway does."},
        ],
        "max_tokens": 64,
        "stream": True,
    }
)


def measure(
    port: int, path: str, *, key: str, model: str, requests: int, seconds: float
) -> list[float]:
    """TTFB samples in milliseconds: up to `requests` sequential streams, or `seconds` of them."""
    body = BODY.replace('"model": ""', f'"model": {json.dumps(model)}', 1)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    try:
        while len(samples) < requests and time.perf_counter() < deadline:
            started = time.perf_counter()
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            first = response.read1(1)  # returns as soon as any body byte is there
            samples.append((time.perf_counter() - started) * 1000)
            rest = first + response.read()
            if response.status != 200 or b"[DONE]" not in rest:
                raise BenchError(f"TTFB stream → HTTP {response.status}: {rest[-300:]!r}")
    finally:
        conn.close()
    return samples
