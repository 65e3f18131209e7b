"""The internal routes every module serves, generated from its `api.py` Protocol: a bad body is
the caller's 400 naming what is wrong, never a 500, for every method of every port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from twelve.app.asgi import create_app
from twelve.app.catalogue import CATALOGUE
from twelve.app.settings import Settings
from twelve.kernel.remote import Method, describe
from twelve.kernel.rpc import INTERNAL_KEY_HEADER

INTERNAL_KEY = "int-" + "0" * 40
ADMIN_KEY = "adm-" + "0" * 40
METHODS = [
    (spec.name, method)
    for spec in CATALOGUE
    for protocol in spec.provides
    for method in describe(protocol).values()
]


@pytest.fixture
async def internal(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        data_dir=tmp_path,
        internal_key=INTERNAL_KEY,
        admin_key=ADMIN_KEY,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://twelve/internal",
            headers={INTERNAL_KEY_HEADER: INTERNAL_KEY},
        ) as client,
    ):
        yield client


def test_every_served_port_has_internal_routes() -> None:
    assert {name for name, _ in METHODS} == {
        "gateway", "chat", "completion", "embeddings", "images", "audio", "credits", "models",
        "storage", "events", "jobs",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("module", "method"), METHODS, ids=lambda v: v.name if isinstance(v, Method) else v
)
async def test_a_bad_body_is_a_400(
    internal: httpx.AsyncClient, module: str, method: Method
) -> None:
    name, parameters = method.name, method.parameters
    bad: list[bytes] = [b"{not json", b"[]", b'"text"', b'{"__unknown__": 1}']
    if parameters:
        wrong = ", ".join(f'"{p}": [1]' for p in parameters)
        bad.append(f"{{{wrong}}}".encode())
    for content in bad:
        response = await internal.post(f"/{module}/{name}", content=content)
        assert response.status_code == 400, (content, response.text)
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"


async def test_a_missing_argument_is_named(internal: httpx.AsyncClient) -> None:
    response = await internal.post("/models/plan", json={"model": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "capability"
