"""Where a URL that a customer gives may make this server connect: public addresses only, unless
the operator allows a network (a webhook's callback, an image to fetch).

Such a URL is checked twice: when it is given (the scheme, a host, no credentials in it, an
address literal that is not forbidden: loopback, private, link-local, the cloud metadata address)
and when it is connected to, on every address the name resolves to, by the resolver the
connection itself uses (`GuardedResolver`): a name that resolves to a public address when checked
and a private one when connected, DNS rebinding, gains nothing.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from twelve.kernel.errors import InvalidRequest

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address


class ForbiddenAddress(OSError):
    """The URL's host is, or resolves to, an address it may not reach."""


def allowed(address: Address, networks: Sequence[Network]) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in networks):
        return True
    return address.is_global and not address.is_multicast


def check_url(raw: str, networks: Sequence[Network], param: str) -> URL:
    """The URL, or a 400 naming `param` that says what is wrong with it."""
    try:
        url = URL(raw)
    except ValueError:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise refused(param, "must be an http:// or https:// URL with a host")
    if url.user or url.password:
        raise refused(param, "must not carry credentials")
    try:
        literal: Address | None = ip_address(url.host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None and not allowed(literal, networks):
        raise refused(param, "must reach a public address")
    host = url.host.lower()
    local_name = host in ("localhost", "localhost.localdomain") or host.endswith(".localhost")
    if local_name and not allowed(ip_address("127.0.0.1"), networks):
        raise refused(param, "must reach a public address")
    return url


def refused(param: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid '{param}': it {why}.", param=param)


class GuardedResolver(AbstractResolver):
    """Resolves as usual, then keeps only addresses that may be reached (none: an error)."""

    def __init__(self, networks: Sequence[Network]) -> None:
        self._networks = tuple(networks)
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        kept = [r for r in results if allowed(ip_address(r["host"]), self._networks)]
        if not kept:
            raise ForbiddenAddress(f"{host} resolves to no address it may reach")
        return kept

    async def close(self) -> None:
        await self._resolver.close()

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"GuardedResolver({self._networks!r})"
