"""Closing a stream on purpose rather than at garbage collection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any


async def close_stream(items: AsyncIterator[Any]) -> None:
    """Close `items` now, so the connection behind it is released at once (streams here are async
    generators, typed as `AsyncIterator`; a plain iterator has nothing to close)."""
    close = getattr(items, "aclose", None)
    if close is not None:
        await close()
