"""`GET /admin/v1/usage` in process, on SQLite and PostgreSQL: totals per day, model, key or
customer, customers by id or name, filters, and bad parameters refused with a 400 naming them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import postgres_url
from tests.modules.admin.test_admin_http import ADMIN, error_of
from twelve.app.asgi import create_app
from twelve.app.settings import Settings
from twelve.modules.credits.api import UsageRecord, UsageService

MARCH_1 = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()


@pytest.fixture
async def admin(backend: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = tmp_path / "twelve.yaml"
    nowhere = "{provider: openai, base_url: 'http://127.0.0.1:9/v1', model: m}"
    config.write_text(f"models:\n  - {{name: echo, deployments: [{nowhere}]}}\n")
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
        admin = await stack.enter_async_context(client)
        acme = (await admin.post("/customers", json={"name": "acme"})).json()["id"]
        other = (await admin.post("/customers", json={"name": "other"})).json()["id"]
        usage: UsageService = app.state.container.built["credits"].services[UsageService]

        def row(n: int, customer: str, key: str, model: str, **extra: Any) -> UsageRecord:
            values = {"input_tokens": 10, "output_tokens": 5, "cost_micros": 100, "at": MARCH_1}
            values |= extra
            return UsageRecord.model_validate(
                {"request_id": f"r{n}", "customer_id": customer, "key_id": key, "model": model}
                | values
            )

        await usage.record_usage(
            [
                row(1, acme, "key_1", "echo"),
                row(2, acme, "key_2", "echo", at=MARCH_1 + 86400, cost_micros=250),
                row(3, acme, "key_2", "free", unpriced=True, cost_micros=0),
                row(4, other, "key_9", "echo", cost_micros=5),
                row(5, other, "key_9", "tts", characters=12, audio_seconds=1.5, cost_micros=180),
            ]
        )
        yield admin


async def test_usage_by_day_model_key_and_customer(admin: httpx.AsyncClient) -> None:
    days = (await admin.get("/usage", params={"customer_id": "acme"})).json()
    assert days["object"] == "list" and days["group_by"] == "day"
    assert [(d["group"], d["requests"], d["cost"]) for d in days["data"]] == [
        ("2026-03-01", 2, 0.0001),
        ("2026-03-02", 1, 0.00025),
    ]
    models = await admin.get("/usage", params={"group_by": "model", "customer_id": "acme"})
    assert [(m["group"], m["requests"], m["unpriced_requests"]) for m in models.json()["data"]] == [
        ("echo", 2, 0),
        ("free", 1, 1),
    ]
    keys = (await admin.get("/usage", params={"group_by": "key", "model": "echo"})).json()["data"]
    assert [(k["group"], k["cost_micros"]) for k in keys] == [
        ("key_2", 250),
        ("key_1", 100),
        ("key_9", 5),
    ]
    customers = await admin.get("/usage", params={"group_by": "customer", "to": "2026-03-01"})
    assert [(c["requests"], c["input_tokens"]) for c in customers.json()["data"]] == [
        (2, 20),
        (2, 20),
    ]
    [tts] = (await admin.get("/usage", params={"group_by": "model", "model": "tts"})).json()["data"]
    assert (tts["images"], tts["audio_seconds"], tts["characters"]) == (0, 1.5, 12)
    assert tts["cost_micros"] == 180 and days["data"][0]["characters"] == 0  # acme: none
    one = await admin.get("/usage", params={"key_id": "key_2", "from": "2026-03-02"})
    assert [d["requests"] for d in one.json()["data"]] == [1]


@pytest.mark.parametrize(
    ("params", "status", "param"),
    [
        ({"group_by": "week"}, 400, "group_by"),
        ({"from": "03/01/2026"}, 400, "from"),
        ({"to": "1e400"}, 400, "to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, 400, "from"),
        ({"customer_id": "nobody"}, 404, "customer_id"),
        ({"customer_id": "ac\x01me"}, 400, "customer_id"),
        ({"model": "ec\x00ho"}, 400, "model"),
    ],
)
async def test_bad_parameters_are_refused_naming_them(
    admin: httpx.AsyncClient, params: dict[str, str], status: int, param: str
) -> None:
    assert error_of(await admin.get("/usage", params=params), status)["param"] == param


async def test_the_usage_report_needs_the_admin_key(admin: httpx.AsyncClient) -> None:
    answer = await admin.get("/usage", headers={"authorization": "Bearer tw-" + "x" * 43})
    assert answer.status_code == 401
