"""The whole app in process (httpx's ASGI transport), with a fake upstream on 127.0.0.1 behind it,
a customer, a real API key and the admin key: what the bad-input suites send their requests to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.fakes.upstream import FakeUpstream
from twelve.app.asgi import create_app
from twelve.app.settings import Settings

ADMIN_KEY = "adm-test-" + "x" * 32


@dataclass
class Stack:
    app: FastAPI
    client: httpx.AsyncClient  # sends the API key unless told otherwise
    api_key: str
    customer_id: str

    @property
    def admin(self) -> dict[str, str]:
        return {"authorization": f"Bearer {ADMIN_KEY}"}


def write_config(upstream: FakeUpstream, directory: Path) -> Path:
    config = directory / "twelve.yaml"
    config.write_text(
        "models:\n  - name: echo\n    deployments:\n"
        f"      - {{provider: openai, base_url: '{upstream.base_url}/v1', model: echo}}\n"
    )
    return config


@asynccontextmanager
async def serving(
    upstream: FakeUpstream, directory: Path, *, config: str | None = None, credits: float = 0
) -> AsyncIterator[Stack]:
    """The app on `config` (YAML; default: `echo` on the fake), its customer holding `credits`
    (USD)."""
    path = write_config(upstream, directory)
    if config is not None:
        path.write_text(config)
    settings = Settings(data_dir=directory, config=path, admin_key=ADMIN_KEY)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://twelve") as client:
            admin = {"authorization": f"Bearer {ADMIN_KEY}"}
            made = {"name": "c", "credits": credits} if credits else {"name": "c"}
            customer = await client.post("/admin/v1/customers", json=made, headers=admin)
            customer_id = customer.json()["id"]
            key = await client.post(
                "/admin/v1/keys", json={"customer_id": customer_id}, headers=admin
            )
            api_key = key.json()["key"]
            client.headers["authorization"] = f"Bearer {api_key}"
            yield Stack(app, client, api_key, customer_id)
