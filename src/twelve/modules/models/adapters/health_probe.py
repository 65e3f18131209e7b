"""One active health check of one deployment: a cheap GET, bounded like every upstream call.

The same rules as `transport.py`: the process's pooled client, the deployment's own headers
(its credentials: an upstream that refuses them is unhealthy for every request), no redirect
followed (a 3xx is a failure, and the credentials never reach its target), no automatic
decompression, and a time limit on the whole exchange. Only the status counts: at most
`_MAX_BODY_BYTES` of the body are read (so the connection can go back to the pool), a larger one
is left unread and its connection closed.

What the answer means: 2xx is healthy; 404, 405 and 501 say the upstream does not serve the
path (unsupported: not evidence of an outage, so nothing is ejected); anything else (5xx, 429,
401/403, a redirect, a timeout, a connection error) is unhealthy.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError

from twelve.kernel.http_client import HttpClient
from twelve.modules.models.adapters.endpoint import Endpoint
from twelve.modules.models.adapters.response_body import (
    ACCEPT_ENCODING,
    BadEncoding,
    BodyTooLarge,
    read_body,
)

ProbeResult = Literal["healthy", "unhealthy", "unsupported"]

_MAX_BODY_BYTES = 64 * 1024
_UNSUPPORTED = frozenset({404, 405, 501})
_TRANSPORT_ERRORS = (aiohttp.ClientError, HttpProcessingError, ConnectionError, OSError)


@dataclass(frozen=True, slots=True)
class Probe:
    result: ProbeResult
    # What an operator reads: "HTTP 503", "timed out after 5 s", never a URL or a credential.
    detail: str


async def probe(http: HttpClient, endpoint: Endpoint, path: str, seconds: float) -> Probe:
    """GET `path` on the deployment, within `seconds` in all."""
    headers = {**endpoint.headers, "Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING}
    limits = aiohttp.ClientTimeout(total=seconds, connect=min(seconds, endpoint.connect_seconds))
    try:
        async with asyncio.timeout(seconds):
            async with http.session.get(
                endpoint.url(path),
                headers=headers,
                timeout=limits,
                allow_redirects=False,
                auto_decompress=False,
            ) as response:
                status = response.status
                if 200 <= status < 300:
                    await _drain(response)
                    return Probe("healthy", f"HTTP {status}")
                response.close()
                if status in _UNSUPPORTED:
                    return Probe("unsupported", f"HTTP {status}: the upstream does not serve it")
                if 300 <= status < 400:
                    return Probe("unhealthy", f"HTTP {status}: a redirect (never followed)")
                return Probe("unhealthy", f"HTTP {status}")
    except TimeoutError:
        return Probe("unhealthy", f"timed out after {seconds:g} s")
    except _TRANSPORT_ERRORS as exc:
        return Probe("unhealthy", f"connection failed ({type(exc).__name__})")


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read a small body so that the connection is reused; close on a large or odd one."""
    try:
        await read_body(response, _MAX_BODY_BYTES)
    except (BodyTooLarge, BadEncoding, *_TRANSPORT_ERRORS):
        response.close()  # the status already answered: the body is not judged
