"""Usage end to end: `twelve serve` in front of the fake upstream, driven by the official `openai`
SDK. Requests on two keys and three models (one unpriced) show up in `GET /admin/v1/usage` by
day, model and key with the right requests, tokens and cost once the meter has flushed; the
calling customer sees its own usage at `GET /v1/usage`, and only its own; a key with a budget is
refused with 402 `budget_exceeded` once it is spent, while the customer's other key goes on, and
200 parallel requests never overspend a key's budget of 50 (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.databases import postgres_url
from tests.e2e.server import TwelveServer
from tests.e2e.stack import UPSTREAM_KEY
from tests.e2e.test_credits import ADMIN_KEY as CREDITS_ADMIN_KEY
from tests.e2e.test_credits import BODY as CREDITS_BODY
from tests.e2e.test_credits import gateway as credits_gateway
from tests.e2e.test_credits import journal_sum, priced_upstream, settled
from tests.fakes.upstream import FakeUpstream

__all__ = ["priced_upstream"]  # the fixture, shared with test_credits.py

ADMIN_KEY = "twadmin-usage-0123456789abcdef0123456789"
# 1 micro-dollar per input token, 2 per output token; `free-ish` has no price at all.
PRICES = ("        input_cost_per_mtok: 1", "        output_cost_per_mtok: 2")
MODELS = {"alpha": ("gpt-echo", PRICES), "beta": ("gpt-echo", PRICES), "loose": ("gpt-echo", ())}
MESSAGES = [{"role": "user", "content": "hello there"}]


def config(upstream_url: str) -> str:
    lines = ["models:"]
    for name, (model, prices) in MODELS.items():
        lines += [
            f"  - name: {name}",
            "    deployments:",
            "      - provider: openai",
            f"        base_url: {upstream_url}/v1",
            "        api_key: ${E2E_UPSTREAM_KEY}",
            f"        model: {model}",
            *prices,
        ]
    return "\n".join(lines) + "\n"


@asynccontextmanager
async def gateway(upstream: FakeUpstream, root: Path) -> AsyncIterator[TwelveServer]:
    path = root / "twelve.yaml"
    path.write_text(config(upstream.base_url), encoding="utf-8")
    env = {
        "TWELVE_CONFIG": str(path),
        "TWELVE_DATA_DIR": str(root / "data"),
        "TWELVE_ADMIN_KEY": ADMIN_KEY,
        "E2E_UPSTREAM_KEY": UPSTREAM_KEY,
        "TWELVE_GATEWAY_RETRIES": "0",
    }
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Site:
    def __init__(self, server: TwelveServer, admin: httpx.AsyncClient) -> None:
        self.server, self.admin = server, admin

    async def key(self, customer: str, **fields: Any) -> dict[str, Any]:
        made = await self.admin.post("/keys", json={"customer_id": customer, **fields})
        assert made.status_code == 201, made.text
        issued: dict[str, Any] = made.json()
        return issued

    def sdk(self, key: str) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(api_key=key, base_url=f"{self.server.base_url}/v1", max_retries=0)

    async def chat(self, key: str, model: str) -> tuple[int, int]:
        """One chat completion; its (prompt, completion) tokens."""
        async with self.sdk(key) as sdk:
            done = await sdk.chat.completions.create(
                model=model,
                messages=MESSAGES,
                max_tokens=20,  # type: ignore[arg-type]
            )
        assert done.usage is not None
        return done.usage.prompt_tokens, done.usage.completion_tokens

    async def usage(self, **params: str) -> dict[str, Any]:
        answer = await self.admin.get("/usage", params=params)
        assert answer.status_code == 200, answer.text
        report: dict[str, Any] = answer.json()
        return report

    async def flushed(self, requests: int) -> None:
        """Until the meter (every second) has written `requests` rows."""
        for _ in range(100):
            rows = (await self.usage(group_by="customer"))["data"]
            if sum(r["requests"] for r in rows) >= requests:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"usage rows never reached {requests}: {rows}")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    with FakeUpstream(api_key=UPSTREAM_KEY) as upstream:
        async with gateway(upstream, tmp_path) as server:
            headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
            base = f"{server.base_url}/admin/v1"
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as admin:
                yield Site(server, admin)


def cost(tokens: tuple[int, int]) -> int:
    return tokens[0] * 1 + tokens[1] * 2


async def test_usage_by_day_model_and_key(site: Site) -> None:
    for name in ("acme", "other"):
        made = await site.admin.post("/customers", json={"name": name, "credits": 10})
        assert made.status_code == 201, made.text
    first = await site.key("acme", name="first")
    second = await site.key("acme", name="second")
    outsider = await site.key("other")
    a1 = await site.chat(first["key"], "alpha")
    a2 = await site.chat(first["key"], "alpha")
    b1 = await site.chat(second["key"], "beta")
    loose = await site.chat(second["key"], "loose")
    await site.chat(outsider["key"], "alpha")
    await site.flushed(5)

    today = datetime.now(UTC).strftime("%Y-%m-%d")
    days = await site.usage(customer_id="acme")
    assert days["group_by"] == "day"
    [day] = days["data"]
    assert day["group"] == today and day["requests"] == 4
    assert day["input_tokens"] == a1[0] + a2[0] + b1[0] + loose[0]
    assert day["output_tokens"] == a1[1] + a2[1] + b1[1] + loose[1]
    assert day["cost"] == pytest.approx((cost(a1) + cost(a2) + cost(b1)) / 1e6)
    assert day["unpriced_requests"] == 1

    models = {
        m["group"]: m for m in (await site.usage(customer_id="acme", group_by="model"))["data"]
    }
    assert set(models) == {"alpha", "beta", "loose"}
    assert (models["alpha"]["requests"], models["alpha"]["cost_micros"]) == (2, cost(a1) + cost(a2))
    assert (models["beta"]["requests"], models["beta"]["cost_micros"]) == (1, cost(b1))
    assert (models["loose"]["cost_micros"], models["loose"]["unpriced_requests"]) == (0, 1)

    keys = {k["group"]: k for k in (await site.usage(group_by="key"))["data"]}
    assert keys[first["id"]]["requests"] == 2 and keys[second["id"]]["requests"] == 2
    assert keys[outsider["id"]]["requests"] == 1
    only = await site.usage(key_id=first["id"], group_by="model", to=str(int(time.time()) + 60))
    assert [(m["group"], m["requests"]) for m in only["data"]] == [("alpha", 2)]

    # The customer's own view: its keys only; another customer's key id matches nothing.
    headers = {"Authorization": f"Bearer {first['key']}"}
    async with httpx.AsyncClient(base_url=f"{site.server.base_url}/v1", headers=headers) as mine:
        own = (await mine.get("/usage", params={"group_by": "key"})).json()
        assert sorted(k["group"] for k in own["data"]) == sorted([first["id"], second["id"]])
        foreign = await mine.get("/usage", params={"key_id": outsider["id"]})
        assert foreign.status_code == 200 and foreign.json()["data"] == []
        for params, param in [
            ({"group_by": "customer"}, "group_by"),
            ({"from": "2026-02-30"}, "from"),
            ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ]:
            bad = await mine.get("/usage", params=params)
            assert bad.status_code == 400 and bad.json()["error"]["param"] == param, bad.text
    for params, param in [({"group_by": "week"}, "group_by"), ({"to": "soon"}, "to")]:
        bad = await site.admin.get("/usage", params=params)
        assert bad.status_code == 400 and bad.json()["error"]["param"] == param, bad.text


async def test_a_key_with_a_budget_is_refused_once_spent(site: Site) -> None:
    made = await site.admin.post("/customers", json={"name": "acme", "credits": 10})
    assert made.status_code == 201, made.text
    # 200 micros a day: a request here costs well under that, its worst case (20 output
    # tokens and the prompt's bytes) too, so a few pass before the budget is spent.
    capped = await site.key("acme", name="capped", budget={"amount": 0.0002, "period": "day"})
    free = await site.key("acme", name="free")
    spent = 0
    refused: openai.APIStatusError | None = None
    for _ in range(50):
        try:
            spent += cost(await site.chat(capped["key"], "alpha"))
        except openai.APIStatusError as exc:
            refused = exc
            break
    assert refused is not None, "the budget never ran out"
    assert refused.status_code == 402, refused
    error = refused.body
    assert isinstance(error, dict)
    assert (error["type"], error["code"]) == ("insufficient_quota", "budget_exceeded")
    assert "daily budget" in error["message"]
    assert 0 < spent <= 200
    await site.chat(free["key"], "alpha")  # the customer's other key is not limited
    keys: dict[str, Any] = {}
    for _ in range(100):  # until the meter (every second) has written both keys' rows
        keys = {k["group"]: k for k in (await site.usage(group_by="key"))["data"]}
        if free["id"] in keys:
            break
        await asyncio.sleep(0.1)
    assert keys[capped["id"]]["cost_micros"] == spent  # refused requests are not usage
    assert keys[free["id"]]["requests"] == 1


async def budget_overspend(server: TwelveServer, root: Path, database_url: str | None) -> None:
    """200 parallel requests of 1 micro each on a key whose daily budget is 50 micros, for a
    customer who could pay for 1000: at most 50 admitted, the rest 402 budget_exceeded."""
    admin = {"Authorization": f"Bearer {CREDITS_ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=f"{server.base_url}/admin/v1", headers=admin) as c:
        made = await c.post("/customers", json={"name": "acme", "credits": 0.001})
        assert made.status_code == 201, made.text
        budget = {"amount": 0.00005, "period": "day"}
        key = await c.post("/keys", json={"customer_id": "acme", "budget": budget})
        assert key.status_code == 201, key.text
    customer_id, secret = made.json()["id"], key.json()["key"]
    headers = {"Authorization": f"Bearer {secret}"}
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:
        url = f"{server.base_url}/v1/chat/completions"
        answers = await asyncio.gather(
            *(client.post(url, json={**CREDITS_BODY, "model": "priced"}) for _ in range(200))
        )
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 402}, statuses
    refused = next(a for a in answers if a.status_code == 402).json()["error"]
    assert (refused["type"], refused["code"]) == ("insufficient_quota", "budget_exceeded")
    admitted = statuses.count(200)
    assert 0 < admitted <= 50
    final = await settled(server, customer_id)
    assert final["balance_micros"] == 1000 - admitted and final["held_micros"] == 0
    assert await journal_sum(root, database_url) == 0


async def test_two_hundred_requests_never_overspend_a_key_budget_on_sqlite(
    priced_upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with credits_gateway(priced_upstream, tmp_path) as server:
        await budget_overspend(server, tmp_path, None)


@pytest.mark.postgres
async def test_two_hundred_requests_never_overspend_a_key_budget_on_postgres(
    priced_upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with postgres_url() as url, credits_gateway(priced_upstream, tmp_path, url) as server:
        await budget_overspend(server, tmp_path, url)
