"""The admin credits API in process, on SQLite and PostgreSQL: opening balances, top-ups once per
Idempotency-Key, the ledger, and bad input refused with a 4xx and nothing written."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.modules.admin.test_admin_http import admin, error_of

__all__ = ["admin"]  # the fixture, shared


async def test_balance_top_up_and_ledger(admin: httpx.AsyncClient) -> None:
    made = await admin.post("/customers", json={"name": "acme", "credits": 10.0})
    assert made.status_code == 201, made.text
    assert (made.json()["balance"], made.json()["held"]) == (10.0, 0.0)
    topped = await admin.post(
        "/customers/acme/credits",
        json={"amount": "0.25", "reason": "promo"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert topped.status_code == 200, topped.text
    assert topped.json()["amount_micros"] == 250_000
    shown = (await admin.get(f"/customers/{made.json()['id']}")).json()
    assert shown["balance_micros"] == 10_250_000 and shown["available"] == 10.25
    ledger = (await admin.get("/customers/acme/ledger")).json()["data"]
    assert [(e["kind"], e["amount_micros"], e["reason"]) for e in ledger] == [
        ("credit", 250_000, "promo"),
        ("credit", 10_000_000, "opening balance"),
    ]


async def test_fifty_parallel_top_ups_with_one_key_credit_once(admin: httpx.AsyncClient) -> None:
    await admin.post("/customers", json={"name": "acme"})
    answers = await asyncio.gather(
        *(
            admin.post(
                "/customers/acme/credits",
                json={"amount": 5},
                headers={"Idempotency-Key": "double-click"},
            )
            for _ in range(50)
        )
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["transaction_id"] for a in answers}) == 1
    assert (await admin.get("/customers/acme")).json()["balance_micros"] == 5_000_000
    reused = await admin.post(
        "/customers/acme/credits", json={"amount": 6}, headers={"Idempotency-Key": "double-click"}
    )
    assert error_of(reused, 400)["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("path", "body", "status", "param"),
    [
        ("/customers/acme/credits", {"amount": -1}, 400, "amount"),
        ("/customers/acme/credits", {"amount": 0}, 400, "amount"),
        ("/customers/acme/credits", {"amount": "lots"}, 400, "amount"),
        ("/customers/acme/credits", {"amount": 1.0000001}, 400, "amount"),
        ("/customers/acme/credits", {"amount": 1, "extra": 1}, 400, "extra"),
        ("/customers/nobody/credits", {"amount": 1}, 404, "customer"),
        ("/customers", {"name": "other", "credits": -5}, 400, "credits"),
    ],
)
async def test_bad_credit_input_is_refused_and_nothing_written(
    admin: httpx.AsyncClient, path: str, body: dict[str, Any], status: int, param: str
) -> None:
    await admin.post("/customers", json={"name": "acme"})
    assert error_of(await admin.post(path, json=body), status)["param"] == param
    assert (await admin.get("/customers/acme")).json()["balance_micros"] == 0
    assert (await admin.get("/customers/acme/ledger")).json()["data"] == []
    assert len((await admin.get("/customers")).json()["data"]) == 1
