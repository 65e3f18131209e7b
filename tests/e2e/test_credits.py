"""Credits end to end: `twelve serve` in front of the fake upstream with priced models.

Each request to a `priced` model costs exactly one micro-dollar (prices of $0.000001 per 1M
tokens, rounded up once), so a balance of 50 micros is 50 requests' worth, however many run at
once. Checked on SQLite and PostgreSQL: at most 50 admitted, never a negative balance, no hold
left open, and the journal sums to zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.databases import postgres_url
from tests.e2e.server import TwelveServer
from tests.e2e.stack import UPSTREAM_KEY
from tests.fakes.upstream import FakeUpstream

ADMIN_KEY = "twadmin-credits-0123456789abcdef"
PRICED = {"priced": "gpt-echo", "priced-cut": "cut-2", "priced-stall": "stall-2"}
BODY = {"messages": [{"role": "user", "content": "hello there"}], "max_tokens": 50}


def priced_config(upstream_url: str) -> str:
    lines = ["models:"]
    for name, model in PRICED.items():
        lines += [
            f"  - name: {name}",
            "    deployments:",
            "      - provider: openai",
            f"        base_url: {upstream_url}/v1",
            "        api_key: ${E2E_UPSTREAM_KEY}",
            f"        model: {model}",
            "        timeout: 30",
            "        input_cost_per_mtok: 0.000001",
            "        output_cost_per_mtok: 0.000001",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def priced_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=UPSTREAM_KEY) as fake:
        yield fake


@asynccontextmanager
async def gateway(
    upstream: FakeUpstream, root: Path, database_url: str | None = None, **extra: str
) -> AsyncIterator[TwelveServer]:
    config = root / "twelve.yaml"
    config.write_text(priced_config(upstream.base_url), encoding="utf-8")
    env = {
        "TWELVE_CONFIG": str(config),
        "TWELVE_DATA_DIR": str(root / "data"),
        "TWELVE_ADMIN_KEY": ADMIN_KEY,
        "E2E_UPSTREAM_KEY": UPSTREAM_KEY,
        "TWELVE_GATEWAY_RETRIES": "0",
        **extra,
    }
    if database_url:
        env["TWELVE_DATABASE_URL"] = database_url
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def customer_with_key(server: TwelveServer, micros: int) -> tuple[str, str]:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=f"{server.base_url}/admin/v1", headers=admin) as c:
        made = await c.post("/customers", json={"name": "acme", "credits": micros / 1e6})
        assert made.status_code == 201, made.text
        key = await c.post("/keys", json={"customer_id": "acme"})
        assert key.status_code == 201, key.text
        return made.json()["id"], key.json()["key"]


async def account(server: TwelveServer, customer_id: str) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(headers=admin) as c:
        found = await c.get(f"{server.base_url}/admin/v1/customers/{customer_id}")
    assert found.status_code == 200, found.text
    result: dict[str, Any] = found.json()
    return result


async def journal_sum(root: Path, database_url: str | None) -> int:
    if database_url is None:
        with sqlite3.connect(root / "data" / "credits.db") as conn:
            return int(conn.execute("SELECT COALESCE(SUM(amount), 0) FROM journal").fetchone()[0])
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT COALESCE(SUM(amount), 0) FROM credits.journal"))
    finally:
        await conn.close()


async def settled(server: TwelveServer, customer_id: str) -> dict[str, Any]:
    """The account once no hold is open (settling runs just after a response ends)."""
    for _ in range(400):  # generous: the sweeper waits out a 5 s hold after a restart
        found = await account(server, customer_id)
        if found["open_holds"] == 0:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"holds still open: {found}")


async def overspend(server: TwelveServer, root: Path, database_url: str | None) -> None:
    customer_id, key = await customer_with_key(server, 50)
    limits = httpx.Limits(max_connections=200)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:
        url = f"{server.base_url}/v1/chat/completions"
        answers = await asyncio.gather(
            *(client.post(url, json={**BODY, "model": "priced"}) for _ in range(200))
        )
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 402}, statuses
    refused = next(a for a in answers if a.status_code == 402).json()["error"]
    assert refused["code"] == refused["type"] == "insufficient_quota"
    admitted = statuses.count(200)
    assert 0 < admitted <= 50
    final = await settled(server, customer_id)
    assert final["balance_micros"] == 50 - admitted >= 0
    assert final["held_micros"] == 0
    assert await journal_sum(root, database_url) == 0


async def test_two_hundred_requests_never_overspend_fifty_on_sqlite(
    priced_upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with gateway(priced_upstream, tmp_path) as server:
        await overspend(server, tmp_path, None)


@pytest.mark.postgres
async def test_two_hundred_requests_never_overspend_fifty_on_postgres(
    priced_upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with postgres_url() as url, gateway(priced_upstream, tmp_path, url) as server:
        await overspend(server, tmp_path, url)


async def test_cut_streams_and_hang_ups_are_settled(
    priced_upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with gateway(priced_upstream, tmp_path) as server:
        customer_id, key = await customer_with_key(server, 1000)
        headers = {"Authorization": f"Bearer {key}"}
        url = f"{server.base_url}/v1/chat/completions"
        async with httpx.AsyncClient(timeout=30, headers=headers) as client:
            cut = await client.post(url, json={**BODY, "model": "priced-cut", "stream": True})
            assert cut.status_code == 200
            async with client.stream(
                "POST", url, json={**BODY, "model": "priced-stall", "stream": True}
            ) as hanging:
                async for _ in hanging.aiter_bytes():
                    break  # the first bytes arrived: hang up mid-stream
        final = await settled(server, customer_id)
        # Both usages were unknown: each charged its whole hold (1 micro).
        assert final["balance_micros"] == 1000 - 2
        assert final["held_micros"] == 0
        assert await journal_sum(tmp_path, None) == 0


async def test_kill_nine_with_holds_open_then_restart_sweeps_them(
    priced_upstream: FakeUpstream, tmp_path: Path
) -> None:
    short = {"TWELVE_CREDITS_HOLD_SECONDS": "5", "TWELVE_CREDITS_SWEEP_INTERVAL_SECONDS": "0.2"}
    async with gateway(priced_upstream, tmp_path, **short) as server:
        customer_id, key = await customer_with_key(server, 1000)
        headers = {"Authorization": f"Bearer {key}"}
        url = f"{server.base_url}/v1/chat/completions"
        async with httpx.AsyncClient(timeout=30, headers=headers) as client:
            streams = [
                client.stream("POST", url, json={**BODY, "model": "priced-stall", "stream": True})
                for _ in range(3)
            ]
            for stream in streams:
                opened = await stream.__aenter__()
                assert opened.status_code == 200
            assert (await account(server, customer_id))["open_holds"] == 3
            assert server._process is not None
            server._process.kill()  # SIGKILL: no finaliser, no shutdown
            server._process.wait(timeout=10)
            for stream in streams:
                with contextlib.suppress(httpx.HTTPError):
                    await stream.__aexit__(None, None, None)
    async with gateway(priced_upstream, tmp_path, **short) as restarted:
        final = await settled(restarted, customer_id)
        assert final["held_micros"] == 0
        assert final["balance_micros"] == 1000 - 3  # settled at the hold: the cost is unknown
        assert await journal_sum(tmp_path, None) == 0
