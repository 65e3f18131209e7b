"""`GET /v1/usage` in process, on SQLite and PostgreSQL: the calling key's customer's usage only
(another customer's key id matches nothing), grouped by day, model or key with their units
(images, audio seconds, characters), and bad parameters refused with a 400 naming them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from twelve.kernel.db import Database
from twelve.kernel.http_errors import install_error_handlers
from twelve.modules.credits.api import UsageRecord
from twelve.modules.credits.usage_book import UsageBook
from twelve.modules.gateway import http
from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.routing import RetryPolicy
from twelve.modules.gateway.service import Gateway

ALICE, BOB = "tw-" + "a" * 43, "tw-" + "b" * 43
MARCH_1 = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()
MARCH_2 = datetime(2026, 3, 2, 12, tzinfo=UTC).timestamp()


class Keys:
    async def authenticate(self, key: str) -> Principal | None:
        if key == ALICE:
            return Principal(key_id="key_a1", customer_id="cus_alice", models=None)
        if key == BOB:
            return Principal(key_id="key_b1", customer_id="cus_bob", models=None)
        return None


def row(
    request_id: str, customer: str, key: str, model: str, at: float, **units: Any
) -> UsageRecord:
    return UsageRecord(
        request_id=request_id,
        customer_id=customer,
        key_id=key,
        model=model,
        input_tokens=10,
        output_tokens=20,
        cost_micros=1500,
        at=at,
        **units,
    )


@pytest.fixture
async def client(credits_db: Database) -> AsyncIterator[httpx.AsyncClient]:
    book = UsageBook(credits_db)
    await book.record_usage(
        [
            row("r1", "cus_alice", "key_a1", "echo", MARCH_1),
            row("r2", "cus_alice", "key_a2", "echo", MARCH_2),
            row("r3", "cus_alice", "key_a2", "claude", MARCH_2),
            row("r4", "cus_bob", "key_b1", "echo", MARCH_2),
            row("r5", "cus_alice", "key_a1", "painter", MARCH_2, images=3),
            row("r6", "cus_alice", "key_a1", "voice", MARCH_2, audio_seconds=2.5, characters=40),
        ]
    )
    gateway = Gateway(
        keys=Keys(),  # type: ignore[arg-type]
        models=None,  # type: ignore[arg-type]  # not asked: no request is routed here
        chat=None,  # type: ignore[arg-type]
        completion=None,  # type: ignore[arg-type]
        embeddings=None,  # type: ignore[arg-type]
        policy=RetryPolicy(retries=0, backoff_seconds=0, backoff_max_seconds=0),
    )
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(http.build_router(gateway, book))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://twelve/v1") as c:
        yield c


async def get(client: httpx.AsyncClient, key: str, **params: Any) -> httpx.Response:
    return await client.get("/usage", params=params, headers={"authorization": f"Bearer {key}"})


async def test_the_caller_sees_its_customers_usage_only(client: httpx.AsyncClient) -> None:
    days = (await get(client, ALICE)).json()
    assert days["object"] == "list" and days["group_by"] == "day"
    assert [(d["group"], d["requests"], d["cost"]) for d in days["data"]] == [
        ("2026-03-01", 1, 0.0015),
        ("2026-03-02", 4, 0.006),
    ]
    assert set(days["data"][0]) >= {
        "group",
        "requests",
        "input_tokens",
        "output_tokens",
        "cost",
        "unpriced_requests",
        "images",
        "audio_seconds",
        "characters",
    }
    units = [(d["images"], d["audio_seconds"], d["characters"]) for d in days["data"]]
    assert units == [(0, 0.0, 0), (3, 2.5, 40)]
    keys = (await get(client, ALICE, group_by="key")).json()["data"]
    assert sorted((k["group"], k["requests"]) for k in keys) == [("key_a1", 3), ("key_a2", 2)]
    foreign = (await get(client, ALICE, key_id="key_b1", group_by="key")).json()
    assert foreign["data"] == []  # Bob's key: nothing, not an error that tells it exists
    bob = (await get(client, BOB, group_by="model")).json()["data"]
    assert [(m["group"], m["requests"]) for m in bob] == [("echo", 1)]
    window = (await get(client, ALICE, group_by="model", **{"from": "2026-03-02"})).json()
    assert sorted((m["group"], m["requests"], m["images"]) for m in window["data"]) == [
        ("claude", 1, 0),
        ("echo", 1, 0),
        ("painter", 1, 3),
        ("voice", 1, 0),
    ]
    until = (await get(client, ALICE, **{"to": "2026-03-01"})).json()["data"]  # that day included
    assert [d["group"] for d in until] == ["2026-03-01"]
    seconds = await get(client, ALICE, **{"from": int(MARCH_2), "to": int(MARCH_2) + 1})
    assert [d["requests"] for d in seconds.json()["data"]] == [4]


async def test_no_key_is_a_401(client: httpx.AsyncClient) -> None:
    answer = await client.get("/usage")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "missing_api_key"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"group_by": "customer"}, "group_by"),
        ({"group_by": "week"}, "group_by"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-02-30"}, "from"),
        ({"to": "-5"}, "to"),
        ({"to": "nan"}, "to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"from": "1767225600", "to": "1767225599"}, "from"),
        ({"key_id": "key\x00"}, "key_id"),
    ],
)
async def test_bad_parameters_are_400s_naming_them(
    client: httpx.AsyncClient, params: dict[str, str], param: str
) -> None:
    answer = await get(client, ALICE, **params)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
