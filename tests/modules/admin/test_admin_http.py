"""The admin API in process, on SQLite and on PostgreSQL: customers by id or name, checked
allow-lists, bodies read as JSON whatever the Content-Type, and control characters refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import postgres_url
from tests.support.openai_spec import validate
from twelve.app.asgi import create_app
from twelve.app.settings import Settings

ADMIN = "twadmin-test-" + "k" * 32


@pytest.fixture
async def admin(backend: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = tmp_path / "twelve.yaml"
    nowhere = "{provider: openai, base_url: 'http://127.0.0.1:9/v1', model: m}"
    config.write_text(
        f"models:\n  - {{name: echo, deployments: [{nowhere}]}}\n"
        f"  - {{name: embed, deployments: [{nowhere}]}}\n"
    )
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(postgres_url()) if backend == "postgres" else None
        app = create_app(
            Settings(data_dir=tmp_path / "data", config=config, admin_key=ADMIN, database_url=url)
        )
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://twelve/admin/v1",
            headers={"authorization": f"Bearer {ADMIN}"},
        )
        yield await stack.enter_async_context(client)


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    validate(body, "ErrorResponse")
    error: dict[str, Any] = body["error"]
    return error


async def test_customers_are_addressed_by_id_or_name(admin: httpx.AsyncClient) -> None:
    acme = (await admin.post("/customers", json={"name": "acme"})).json()
    by_id = await admin.get(f"/customers/{acme['id']}")
    by_name = await admin.get("/customers/acme")
    assert by_id.json() == by_name.json() == acme

    key = await admin.post("/keys", json={"customer_id": "acme", "models": ["echo"]})
    assert key.status_code == 201, key.text
    assert key.json()["customer_id"] == acme["id"]
    for ref in ("acme", acme["id"]):
        listed = await admin.get("/keys", params={"customer_id": ref})
        assert [k["id"] for k in listed.json()["data"]] == [key.json()["id"]]
    shown = await admin.get(f"/keys/{key.json()['id']}")
    assert shown.json()["id"] == key.json()["id"] and "key" not in shown.json()


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("GET", "/keys?customer_id=nope", None, "customer_id"),
        ("GET", "/customers/nope", None, "customer"),
        ("POST", "/keys", {"customer_id": "nope"}, "customer_id"),
        ("GET", "/keys/key_nope", None, "key_id"),
        ("DELETE", "/keys/key_nope", None, "id"),
    ],
)
async def test_unknown_customers_and_keys_are_404(
    admin: httpx.AsyncClient, method: str, path: str, body: Any, param: str
) -> None:
    error = error_of(await admin.request(method, path, json=body), 404)
    assert error["param"] == param


async def test_an_allow_list_may_name_only_configured_models(admin: httpx.AsyncClient) -> None:
    await admin.post("/customers", json={"name": "acme"})
    refused = await admin.post(
        "/keys", json={"customer_id": "acme", "models": ["echo", "does-not-exist", "gpt-9"]}
    )
    error = error_of(refused, 400)
    assert error["param"] == "models"
    assert "'does-not-exist'" in error["message"] and "'gpt-9'" in error["message"]
    assert (await admin.get("/keys")).json()["data"] == []
    accepted = await admin.post("/keys", json={"customer_id": "acme", "models": ["echo", "embed"]})
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_json_body_is_read_whatever_the_content_type(
    admin: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    created = await admin.post("/customers", content=b'{"name": "acme"}', headers=headers)
    assert created.status_code == 201, created.text
    key = await admin.post("/keys", content=b'{"customer_id": "acme"}', headers=headers)
    assert key.status_code == 201, key.text


@pytest.mark.parametrize("raw", [b"", b"  ", b"[]", b'"acme"', b"{nope", b"null"])
async def test_a_body_that_is_not_a_json_object_is_400(
    admin: httpx.AsyncClient, raw: bytes
) -> None:
    error_of(await admin.post("/customers", content=raw), 400)


NUL = "\x00"


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("POST", "/customers", {"name": f"ac{NUL}me"}, "name"),
        ("POST", "/customers", {"name": "ac\x1b[31mme"}, "name"),
        ("POST", "/keys", {"customer_id": "acme", "name": f"k{NUL}"}, "name"),
        ("POST", "/keys", {"customer_id": "acme", "name": "line\nforged"}, "name"),
        ("POST", "/keys", {"customer_id": f"acme{NUL}"}, "customer_id"),
        ("POST", "/keys", {"customer_id": "acme", "models": [f"echo{NUL}"]}, "models[0]"),
        ("GET", "/customers/ac%00me", None, "customer"),
        ("GET", "/keys?customer_id=ac%00me", None, "customer_id"),
        ("GET", "/keys?customer_id=%7F", None, "customer_id"),
        ("GET", "/keys/key_%00", None, "key_id"),
        ("DELETE", "/keys/key_%00", None, "key_id"),
    ],
)
async def test_control_characters_are_400_naming_the_field(
    admin: httpx.AsyncClient, method: str, path: str, body: Any, param: str
) -> None:
    await admin.post("/customers", json={"name": "acme"})
    error = error_of(await admin.request(method, path, json=body), 400)
    assert error["param"] == param
    assert "control characters" in error["message"]


async def test_an_over_limit_chunked_body_is_413(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, admin_key=ADMIN, max_body_bytes=1024))

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: only the bytes tell
        yield b'{"name": "' + b"x" * 4000 + b'"}'

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://twelve") as client:
            response = await client.post(
                "/admin/v1/customers",
                content=chunked(),
                headers={"authorization": f"Bearer {ADMIN}"},
            )
    assert error_of(response, 413)["code"] == "payload_too_large"
