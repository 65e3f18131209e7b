"""Domain events through a real `twelve serve`: a key created with the admin API is an event in
the gateway's outbox, committed with the key, relayed in process by default and to NATS
JetStream when `TWELVE_NATS_URL` is set, never carrying the key's secret."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx
import nats
import orjson
import pytest

from tests.e2e.server import TwelveServer
from tests.e2e.stack import server_env
from tests.services.test_nats_bus import NATS_URL, nats_missing


def create_key(server: TwelveServer, admin_key: str, customer: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as admin:
        assert admin.post("/admin/v1/customers", json={"name": customer}).status_code == 201
        issued = admin.post("/admin/v1/keys", json={"customer_id": customer})
        assert issued.status_code == 201, issued.text
        return dict(issued.json())


def test_the_embedded_default_relays_the_outbox_in_process(
    twelve_config: Path, admin_key: str, tmp_path: Path
) -> None:
    env = server_env(twelve_config, tmp_path / "data") | {"TWELVE_ADMIN_KEY": admin_key}
    server = TwelveServer(env, tmp_path / "stderr.log")
    server.start()
    try:
        key = create_key(server, admin_key, "outboxed")
        deadline = time.monotonic() + 10
        while True:
            with sqlite3.connect(tmp_path / "data" / "gateway.db") as db:
                rows = db.execute("SELECT subject, payload, relayed_ms FROM outbox").fetchall()
            if rows and all(relayed is not None for _, _, relayed in rows):
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.05)
    finally:
        server.stop()
    [(subject, payload, _)] = rows
    assert subject == "twelve.gateway.api_key.created"
    event = orjson.loads(payload)
    assert event["key"]["id"] == key["id"]
    assert key["key"] not in payload


def test_with_nats_the_event_reaches_jetstream(
    twelve_config: Path, admin_key: str, tmp_path: Path
) -> None:
    missing = asyncio.run(nats_missing())
    if missing is not None:
        pytest.skip(missing)
    env = server_env(twelve_config, tmp_path / "data") | {
        "TWELVE_ADMIN_KEY": admin_key,
        "TWELVE_NATS_URL": NATS_URL,
    }
    server = TwelveServer(env, tmp_path / "stderr.log")
    server.start()
    try:
        key = create_key(server, admin_key, "streamed")
        found = asyncio.run(find_on_jetstream(key["id"]))
    finally:
        server.stop()
    assert found["data"]["type"] == "api_key.created"
    assert key["key"] not in orjson.dumps(found).decode()


async def find_on_jetstream(key_id: str) -> dict[str, object]:
    connection = await nats.connect(NATS_URL)
    try:
        js = connection.jetstream()
        watcher = await js.subscribe("twelve.gateway.api_key.created", ordered_consumer=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            message = await watcher.next_msg(timeout=15)
            body = orjson.loads(message.data)
            if body["data"]["key"]["id"] == key_id:
                return dict(body)
        raise AssertionError(f"no event for {key_id} on JetStream")
    finally:
        await connection.close()
