"""An upstream's response body, read within a byte limit and decompressed by us.

aiohttp's own decompression has no limit: a 200 KB gzip body can expand to gigabytes. Upstream
requests turn it off and ask only for gzip or deflate; `BoundedDecoder` inflates at most the
deployment's `max_response_bytes` (streamed bodies included) and stops there, so memory stays
bounded whatever the upstream sends.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import aiohttp

ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """The body, decompressed, is larger than the limit."""


class BadEncoding(Exception):
    """A content encoding we did not ask for, or compressed data that does not inflate."""


class BoundedDecoder:
    """Decompresses (or passes through) a body, refusing to produce more than `limit` bytes."""

    def __init__(self, encoding: str | None, limit: int) -> None:
        name = (encoding or "identity").strip().lower()
        if name in ("", "identity"):
            self._inflater = None
        elif name in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        elif name == "deflate":
            self._inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS)
        else:
            raise BadEncoding(f"content encoding `{name[:32]}`")
        self._left = limit

    def feed(self, data: bytes) -> bytes:
        if self._inflater is None:
            out = data
        else:
            try:
                # Never more than one byte past the limit, however much `data` would inflate to.
                out = self._inflater.decompress(data, self._left + 1)
            except zlib.error:
                raise BadEncoding("compressed data that does not inflate") from None
        return self._count(out)

    def flush(self) -> bytes:
        if self._inflater is None:
            return b""
        try:
            out = self._inflater.flush(self._left + 1)
        except zlib.error:
            raise BadEncoding("compressed data that does not inflate") from None
        return self._count(out)

    def _count(self, out: bytes) -> bytes:
        if len(out) > self._left:
            raise BodyTooLarge()
        self._left -= len(out)
        return out


async def read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, decompressed; `BodyTooLarge` past `limit` bytes."""
    decoder = BoundedDecoder(response.headers.get("Content-Encoding"), limit)
    parts: list[bytes] = []
    async for chunk in response.content.iter_chunked(_CHUNK):
        parts.append(decoder.feed(chunk))
    parts.append(decoder.flush())
    return b"".join(parts)


async def body_chunks(response: aiohttp.ClientResponse, limit: int) -> AsyncIterator[bytes]:
    """The decompressed body as it arrives, within `limit` bytes in all."""
    decoder = BoundedDecoder(response.headers.get("Content-Encoding"), limit)
    async for chunk in response.content.iter_any():
        data = decoder.feed(chunk)
        if data:
            yield data
    rest = decoder.flush()
    if rest:
        yield rest
