"""Managing keys and customer limits through the admin API, on SQLite and PostgreSQL: create with
limits, GET, PATCH, rotate, page; bad input is a 400 naming the field, and writes nothing."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.modules.admin.test_admin_http import admin, error_of

__all__ = ["admin"]  # the fixture, shared


async def customer(admin: httpx.AsyncClient, name: str = "acme", **limits: Any) -> dict[str, Any]:
    created = await admin.post("/customers", json={"name": name, **limits})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def key(admin: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    created = await admin.post("/keys", json={"customer_id": "acme", **fields})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def test_a_key_with_limits_budget_and_expiry(admin: httpx.AsyncClient) -> None:
    await customer(admin)
    expires = int(time.time()) + 86400
    made = await key(
        admin,
        rpm=60,
        tpm=10_000,
        max_concurrency=4,
        budget={"amount": 12.5, "period": "month"},
        expires_at=expires,
    )
    assert (made["rpm"], made["tpm"], made["max_concurrency"]) == (60, 10_000, 4)
    assert made["budget"] == {"amount": 12.5, "period": "month"}
    assert made["expires_at"] == expires and made["rotated_at"] is None
    shown = (await admin.get(f"/keys/{made['id']}")).json()
    assert shown == {k: v for k, v in made.items() if k != "key"}


async def test_patch_changes_what_it_sends(admin: httpx.AsyncClient) -> None:
    await customer(admin)
    made = await key(admin, name="ci", models=["echo"], rpm=5)
    patched = await admin.patch(
        f"/keys/{made['id']}", json={"models": ["embed"], "rpm": None, "tpm": 9}
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["models"], body["rpm"], body["tpm"], body["name"]) == (["embed"], None, 9, "ci")
    assert (await admin.get(f"/keys/{made['id']}")).json() == body

    unknown_model = await admin.patch(f"/keys/{made['id']}", json={"models": ["gpt-9"]})
    assert error_of(unknown_model, 400)["param"] == "models"
    missing = await admin.patch("/keys/key_nope", json={"rpm": 1})
    assert error_of(missing, 404)["param"] == "id"


async def test_rotate_returns_the_new_secret_once(admin: httpx.AsyncClient) -> None:
    await customer(admin)
    made = await key(admin)
    rotated = await admin.post(f"/keys/{made['id']}/rotate", json={"grace_seconds": 60})
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["id"] == made["id"] and body["key"] != made["key"]
    assert body["previous_expires_at"] == body["rotated_at"] + 60
    assert "key" not in (await admin.get(f"/keys/{made['id']}")).json()

    default = await admin.post(f"/keys/{made['id']}/rotate")  # no body: the default grace
    assert default.status_code == 200, default.text
    assert default.json()["previous_expires_at"] == default.json()["rotated_at"] + 3600
    await admin.delete(f"/keys/{made['id']}")
    gone = await admin.post(f"/keys/{made['id']}/rotate")
    assert error_of(gone, 404)["param"] == "id"


async def test_lists_page_in_openai_shape(admin: httpx.AsyncClient) -> None:
    await customer(admin)
    await customer(admin, "other")
    made = [(await key(admin))["id"] for _ in range(3)]
    theirs = (await admin.post("/keys", json={"customer_id": "other"})).json()["id"]

    first = (await admin.get("/keys", params={"customer_id": "acme", "limit": 2})).json()
    assert first["object"] == "list" and first["has_more"] is True
    assert (first["first_id"], first["last_id"]) == (first["data"][0]["id"], first["data"][1]["id"])
    rest = await admin.get(
        "/keys", params={"customer_id": "acme", "limit": 2, "after": first["last_id"]}
    )
    assert rest.json()["has_more"] is False
    paged = [k["id"] for k in first["data"] + rest.json()["data"]]
    assert sorted(paged) == sorted(made) and len(paged) == 3
    everyone = (await admin.get("/keys")).json()
    assert len(everyone["data"]) == 4 and everyone["has_more"] is False
    empty = (await admin.get("/keys", params={"customer_id": "other", "after": theirs})).json()
    assert empty == {
        "object": "list",
        "data": [],
        "has_more": False,
        "first_id": None,
        "last_id": None,
    }


async def test_customer_limits_are_set_shown_and_patched(admin: httpx.AsyncClient) -> None:
    made = await customer(admin, rpm=100, max_concurrency=3)
    assert (made["rpm"], made["tpm"], made["max_concurrency"]) == (100, None, 3)
    patched = await admin.patch("/customers/acme", json={"tpm": 5000, "rpm": None, "name": "acme2"})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["rpm"], body["tpm"], body["max_concurrency"], body["name"]) == (
        None,
        5000,
        3,
        "acme2",
    )
    assert (await admin.get(f"/customers/{made['id']}")).json() == body
    await customer(admin, "taken")
    conflict = await admin.patch("/customers/acme2", json={"name": "taken"})
    assert error_of(conflict, 409)["param"] == "name"
    assert error_of(await admin.patch("/customers/nope", json={"rpm": 1}), 404)["param"] == (
        "customer"
    )


BAD_KEY_FIELDS = [
    ({"rpm": -1}, "rpm"),
    ({"rpm": 0}, "rpm"),
    ({"rpm": "60"}, "rpm"),
    ({"rpm": True}, "rpm"),
    ({"rpm": 1.5}, "rpm"),
    ({"tpm": 2**70}, "tpm"),
    ({"max_concurrency": False}, "max_concurrency"),
    ({"budget": {"amount": -1, "period": "day"}}, "budget.amount"),
    ({"budget": {"amount": 0, "period": "day"}}, "budget.amount"),
    ({"budget": {"amount": True, "period": "day"}}, "budget.amount"),
    ({"budget": {"amount": 1, "period": "week"}}, "budget.period"),
    ({"budget": {"amount": 1}}, "budget.period"),
    ({"budget": {"amount": 1, "period": "day", "x": 1}}, "budget.x"),
    ({"budget": {"amount": "0.0000001", "period": "day"}}, "budget.amount"),
    ({"budget": 5}, "budget"),
    ({"expires_at": -1}, "expires_at"),
    ({"expires_at": 1}, "expires_at"),
    ({"expires_at": "2030-01-01"}, "expires_at"),
    ({"expires_at": int(time.time() * 1000) + 10**9}, "expires_at"),
    ({"surprise": 1}, "surprise"),
]


@pytest.mark.parametrize(("fields", "param"), BAD_KEY_FIELDS)
async def test_bad_key_fields_are_400_naming_the_field_and_write_nothing(
    admin: httpx.AsyncClient, fields: dict[str, Any], param: str
) -> None:
    await customer(admin)
    made = await key(admin, rpm=7)
    refused = await admin.post("/keys", json={"customer_id": "acme", **fields})
    assert error_of(refused, 400)["param"] == param
    patched = await admin.patch(f"/keys/{made['id']}", json=fields)
    assert error_of(patched, 400)["param"] == param
    listed = (await admin.get("/keys")).json()["data"]
    assert [(k["id"], k["rpm"], k["budget"]) for k in listed] == [(made["id"], 7, None)]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"grace_seconds": -1}, "grace_seconds"),
        ({"grace_seconds": "60"}, "grace_seconds"),
        ({"grace_seconds": True}, "grace_seconds"),
        ({"grace_seconds": 31 * 86400}, "grace_seconds"),
        ({"grace": 5}, "grace"),
    ],
)
async def test_bad_rotations_are_400_and_keep_the_secret(
    admin: httpx.AsyncClient, body: dict[str, Any], param: str
) -> None:
    await customer(admin)
    made = await key(admin)
    assert error_of(await admin.post(f"/keys/{made['id']}/rotate", json=body), 400)["param"] == (
        param
    )
    shown = (await admin.get(f"/keys/{made['id']}")).json()
    assert shown["prefix"] == made["prefix"] and shown["rotated_at"] is None


@pytest.mark.parametrize(
    ("fields", "param"),
    [({"rpm": -5}, "rpm"), ({"tpm": "1"}, "tpm"), ({"name": None}, "name"), ({"id": "x"}, "id")],
)
async def test_bad_customer_patches_are_400_and_write_nothing(
    admin: httpx.AsyncClient, fields: dict[str, Any], param: str
) -> None:
    made = await customer(admin, rpm=10)
    assert error_of(await admin.patch("/customers/acme", json=fields), 400)["param"] == param
    assert (await admin.get("/customers/acme")).json() == made


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"limit": 0}, "query.limit"),  # as FastAPI names a query parameter
        ({"limit": 1001}, "query.limit"),
        ({"limit": "ten"}, "query.limit"),
        ({"after": "key_nope"}, "after"),
        ({"after": "key_\x00"}, "after"),
    ],
)
async def test_bad_list_queries_are_400(
    admin: httpx.AsyncClient, query: dict[str, Any], param: str
) -> None:
    assert error_of(await admin.get("/keys", params=query), 400)["param"] == param
