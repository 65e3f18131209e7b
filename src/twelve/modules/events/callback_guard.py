"""Where a webhook may go: public http(s) addresses only, unless the operator allows a network.

A callback URL is a customer's input that makes this server open a connection, so it is checked
twice: when the delivery is asked for (the scheme, a host, no credentials in it, an address
literal that is not forbidden) and when it is sent, on every address the name resolves to, by the
resolver the connection itself uses (a name that resolves to a public address when checked and a
private one when sent, DNS rebinding, gains nothing).
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
    """The callback's host is, or resolves to, an address callbacks may not reach."""


def allowed(address: Address, networks: Sequence[Network]) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in networks):
        return True
    return address.is_global and not address.is_multicast


def check_url(raw: str, networks: Sequence[Network]) -> URL:
    """The callback URL, or a 400 naming `callback_url` that says what is wrong with it."""
    try:
        url = URL(raw)
    except ValueError:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise _refused("must be an http:// or https:// URL with a host")
    if url.user or url.password:
        raise _refused("must not carry credentials")
    try:
        literal: Address | None = ip_address(url.host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None and not allowed(literal, networks):
        raise _refused("must reach a public address")
    host = url.host.lower()
    local_name = host in ("localhost", "localhost.localdomain") or host.endswith(".localhost")
    if local_name and not allowed(ip_address("127.0.0.1"), networks):
        raise _refused("must reach a public address")
    return url


def _refused(why: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid 'callback_url': it {why}.", param="callback_url")


class GuardedResolver(AbstractResolver):
    """Resolves as usual, then keeps only addresses callbacks may reach (none: an error)."""

    def __init__(self, networks: Sequence[Network]) -> None:
        self._networks = tuple(networks)
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        kept = [r for r in results if allowed(ip_address(r["host"]), self._networks)]
        if not kept:
            raise ForbiddenAddress(f"{host} resolves to no address callbacks may reach")
        return kept

    async def close(self) -> None:
        await self._resolver.close()

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"GuardedResolver({self._networks!r})"


def describe(exc: BaseException) -> str:
    """A short reason for an attempt that failed before any answer, for the delivery's record."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ForbiddenAddress):
            return "refused: the callback resolves to an address callbacks may not reach"
        cause = cause.__cause__ or cause.__context__ or getattr(cause, "os_error", None)
        if cause is exc:
            break
    if isinstance(exc, TimeoutError):
        return "timeout: the receiver did not answer in time"
    return f"{type(exc).__name__}: {exc}"[:300]
