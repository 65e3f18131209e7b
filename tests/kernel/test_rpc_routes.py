"""The serving side of the internal routes: a bad call is the caller's 400, never a 500, and the
internal key is required (an empty one never matches)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from twelve.kernel.http_errors import install_error_handlers
from twelve.kernel.rpc import INTERNAL_KEY_HEADER, Endpoints, internal_router

KEY = "k" * 32


async def lookup(customer_id: str) -> dict[str, Any]:
    return {"id": customer_id.upper()}


async def complete(body: dict[str, Any]) -> dict[str, Any]:
    return {"echo": body.get("prompt")}


async def chunks(body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    yield {"n": len(body)}


def build(key: str = KEY) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    endpoints = Endpoints(
        calls={
            "lookup": lambda a: lookup(a["customer_id"]),
            "complete": lambda a: complete(a["body"]),
        },
        streams={"chunks": lambda a: chunks(a["body"])},
    )
    app.include_router(internal_router("demo", endpoints, key))
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build(), raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t/internal/demo", headers={INTERNAL_KEY_HEADER: KEY}
    ) as c:
        yield c


async def test_a_good_call_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post("/lookup", json={"customer_id": "cus_a"})
    assert response.status_code == 200 and response.json() == {"id": "CUS_A"}


@pytest.mark.parametrize(
    ("method", "content", "param"),
    [
        ("lookup", b"{not json", None),
        ("lookup", b"", None),
        ("lookup", b"[1, 2]", None),
        ("lookup", b'"text"', None),
        ("lookup", b"{}", "customer_id"),
        ("lookup", b'{"customer_id": 5}', "customer_id"),
        ("lookup", b'{"customer_id": ["a"]}', "customer_id"),
        ("complete", b'{"body": "text"}', "body"),
        ("complete", b'{"body": [1]}', "body"),
        ("complete", b"{}", "body"),
        ("chunks", b'{"body": 5}', "body"),
        ("chunks", b"[]", None),
    ],
)
async def test_a_bad_call_is_a_400(
    client: httpx.AsyncClient, method: str, content: bytes, param: str | None
) -> None:
    response = await client.post(f"/{method}", content=content)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert response.json()["twelve"]["status"] == 400  # the caller passes it on as a 400


@pytest.mark.parametrize("presented", [None, "", "wrong"])
async def test_the_internal_key_is_required(presented: str | None) -> None:
    headers = {INTERNAL_KEY_HEADER: presented} if presented is not None else {}
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.post("/internal/demo/lookup", json={"customer_id": "a"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_internal_key"


async def test_an_empty_configured_key_matches_nothing() -> None:
    transport = httpx.ASGITransport(app=build(key=""))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.post("/internal/demo/lookup", json={"customer_id": "a"})
    assert response.status_code == 401
