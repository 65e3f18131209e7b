"""The generated client and server: Protocol methods cross the wire with their declared types."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson
import pytest
from pydantic import BaseModel, ValidationError

from twelve.kernel.commands import command
from twelve.kernel.errors import NotFound
from twelve.kernel.remote import client_for, describe, endpoints_for
from twelve.kernel.rpc import JSON, Endpoints


class Item(BaseModel):
    id: str
    tags: frozenset[str] = frozenset()


class Shop(Protocol):
    @command
    async def create(self, item: Item, note: str | None = None) -> Item: ...

    async def get(self, item_id: str) -> Item | None: ...

    async def count(self) -> int: ...

    def watch(self, limit: int) -> AsyncIterator[Item]: ...


class InMemoryShop:
    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.closed_streams = 0

    async def create(self, item: Item, note: str | None = None) -> Item:
        self.items[item.id] = item
        return item

    async def get(self, item_id: str) -> Item | None:
        if item_id == "boom":
            raise NotFound("no such item", param="item_id")
        return self.items.get(item_id)

    async def count(self) -> int:
        return len(self.items)

    async def watch(self, limit: int) -> AsyncIterator[Item]:
        try:
            for n in range(limit):
                yield Item(id=f"i{n}")
        finally:
            self.closed_streams += 1


class Loopback:
    """An `RpcClient` stand-in that sends each call through JSON to generated endpoints."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self.commands: list[str] = []

    async def call(self, method: str, args: JSON, *, command: bool = False) -> Any:
        if command:
            self.commands.append(method)
        result = await self.endpoints.calls[method](orjson.loads(orjson.dumps(args)))
        return orjson.loads(orjson.dumps(result))

    async def stream(self, method: str, args: JSON) -> AsyncIterator[JSON]:
        async for item in self.endpoints.streams[method](orjson.loads(orjson.dumps(args))):
            yield orjson.loads(orjson.dumps(item))


@pytest.fixture
def shop() -> InMemoryShop:
    return InMemoryShop()


@pytest.fixture
def remote(shop: InMemoryShop) -> tuple[Shop, Loopback]:
    wire = Loopback(endpoints_for(Shop, shop))
    client: Shop = client_for(Shop, wire)  # type: ignore[arg-type]
    return client, wire


def test_describe_reads_the_protocol() -> None:
    methods = describe(Shop)
    assert sorted(methods) == ["count", "create", "get", "watch"]
    assert methods["create"].command and not methods["get"].command
    assert methods["watch"].streams and not methods["count"].streams
    assert methods["create"].parameters == ("item", "note")


async def test_calls_round_trip_with_their_types(remote: tuple[Shop, Loopback]) -> None:
    client, wire = remote
    created = await client.create(Item(id="a", tags=frozenset({"x"})), note="hi")
    assert created == Item(id="a", tags=frozenset({"x"}))
    assert await client.get("a") == created
    assert await client.get("missing") is None
    assert await client.count() == 1
    assert wire.commands == ["create"]


async def test_streams_round_trip(remote: tuple[Shop, Loopback]) -> None:
    client, _ = remote
    assert [item.id async for item in client.watch(3)] == ["i0", "i1", "i2"]


async def test_errors_raised_by_the_service_pass_through(remote: tuple[Shop, Loopback]) -> None:
    client, _ = remote
    with pytest.raises(NotFound):
        await client.get("boom")


@pytest.mark.parametrize(
    "payload",
    [{}, {"item_id": 5}, {"item_id": "a", "extra": 1}, {"item_id": ["a"]}],
)
async def test_a_bad_body_is_a_validation_error_before_the_service_runs(payload: JSON) -> None:
    endpoints = endpoints_for(Shop, InMemoryShop())
    with pytest.raises(ValidationError):
        await endpoints.calls["get"](payload)


async def test_a_stream_left_early_is_closed_on_the_serving_side(shop: InMemoryShop) -> None:
    endpoints = endpoints_for(Shop, shop)
    items = endpoints.streams["watch"]({"limit": 10})
    assert await anext(items) == {"id": "i0", "tags": []}
    await items.aclose()  # type: ignore[attr-defined]
    assert shop.closed_streams == 1


def test_a_protocol_without_methods_is_refused() -> None:
    class Empty(Protocol):
        pass

    with pytest.raises(TypeError):
        describe(Empty)
