"""The URL fetch: allowed networks are fetched (bounded, no redirects followed); private,
loopback, link-local and metadata addresses are refused, literal or resolved."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from ipaddress import ip_address, ip_network

import pytest

from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_openai_media import png
from twelve.kernel.errors import InvalidRequest
from twelve.modules.images.image_input import TooLarge
from twelve.modules.images.url_fetch import UrlFetch

LOOPBACK = [ip_network("127.0.0.0/8")]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream() as upstream:
        yield upstream


async def test_an_allowed_network_is_fetched(fake: FakeUpstream) -> None:
    fetch = UrlFetch(LOOPBACK, seconds=5, max_bytes=1024)
    try:
        assert await fetch.fetch(f"{fake.base_url}/files/picture.png") == png()
    finally:
        await fetch.close()


async def test_a_body_over_the_bound_is_413(fake: FakeUpstream) -> None:
    fetch = UrlFetch(LOOPBACK, seconds=5, max_bytes=20)
    try:
        with pytest.raises(TooLarge):
            await fetch.fetch(f"{fake.base_url}/files/picture.png")
    finally:
        await fetch.close()


async def test_an_error_status_is_a_400(fake: FakeUpstream) -> None:
    fetch = UrlFetch(LOOPBACK, seconds=5, max_bytes=1024)
    try:
        with pytest.raises(InvalidRequest, match="HTTP 405"):
            await fetch.fetch(f"{fake.base_url}/v1/ocr")
    finally:
        await fetch.close()


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "[::1]", "169.254.169.254", "10.1.2.3", "192.168.0.1"]
)
async def test_private_addresses_are_refused_without_an_allowance(
    fake: FakeUpstream, host: str
) -> None:
    port = fake.base_url.rsplit(":", 1)[1]
    fetch = UrlFetch([], seconds=5, max_bytes=1024)
    before = len(fake.requests)
    try:
        with pytest.raises(InvalidRequest) as caught:
            await fetch.fetch(f"http://{host}:{port}/files/picture.png")
    finally:
        await fetch.close()
    assert caught.value.param == "url"
    assert len(fake.requests) == before


async def test_a_name_resolving_to_a_private_address_is_refused_at_connect_time(
    fake: FakeUpstream,
) -> None:
    """The machine's own name passes the literal check; the address it resolves to does not."""
    name = socket.gethostname()
    try:
        address = ip_address(socket.gethostbyname(name))
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    if address.is_global:
        pytest.skip(f"{name} resolves to a public address here")
    port = fake.base_url.rsplit(":", 1)[1]
    fetch = UrlFetch([], seconds=5, max_bytes=1024)
    before = len(fake.requests)
    try:
        with pytest.raises(InvalidRequest, match="may not reach"):
            await fetch.fetch(f"http://{name}:{port}/files/picture.png")
    finally:
        await fetch.close()
    assert len(fake.requests) == before
