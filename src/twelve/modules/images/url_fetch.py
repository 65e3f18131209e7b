"""An image a customer names by URL, fetched under the kernel's URL guard.

The URL is checked when given (scheme, no credentials, no forbidden address literal) and every
address its name resolves to is checked by the connection's own resolver, so the connection goes
to the address that was checked; redirects are not followed (a 3xx is refused), the wait and the
size are bounded. The session is this module's own: its resolver is the guard.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from twelve.kernel.errors import InvalidRequest
from twelve.kernel.url_guard import ForbiddenAddress, GuardedResolver, Network, check_url
from twelve.modules.images.image_input import TooLarge


class UrlFetch:
    def __init__(self, networks: Sequence[Network], *, seconds: float, max_bytes: int) -> None:
        self._networks = tuple(networks)
        self._timeout = aiohttp.ClientTimeout(total=seconds)
        self._max_bytes = max_bytes
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self, raw: str) -> bytes:
        url = check_url(raw, self._networks, "url")
        session = self._session_now()
        try:
            async with session.get(url, allow_redirects=False, timeout=self._timeout) as answer:
                if answer.status != 200:
                    raise _failed(f"it answered HTTP {answer.status}")
                if (answer.content_length or 0) > self._max_bytes:
                    raise TooLarge(f"'url' is over {self._max_bytes} bytes.", param="url")
                data = await answer.content.read(self._max_bytes + 1)
        except ForbiddenAddress:
            raise _failed("it resolves to an address it may not reach") from None
        except TimeoutError:
            raise _failed("it did not answer in time") from None
        except aiohttp.ClientError as exc:
            if _forbidden(exc):
                raise _failed("it resolves to an address it may not reach") from None
            raise _failed(f"it could not be fetched ({type(exc).__name__})") from None
        if len(data) > self._max_bytes:
            raise TooLarge(f"'url' is over {self._max_bytes} bytes.", param="url")
        return data

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._networks), limit=32)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _forbidden(exc: BaseException) -> bool:
    """Whether the guard's refusal is somewhere in the chain aiohttp wrapped it in."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ForbiddenAddress):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__ or getattr(cause, "os_error", None)
    return False


def _failed(why: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid 'url': {why}.", param="url", code="invalid_image_url")
