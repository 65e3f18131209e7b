"""Webhooks through a real `twelve serve`: the customer's secret from the admin API, a delivery
asked for on the events module's internal route (as a module in another process asks), signed
and sent to a receiver on 127.0.0.1, dead-lettered, listed and replayed by an admin."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.e2e.server import TwelveServer
from tests.e2e.stack import server_env

INTERNAL_KEY = "twinternal-e2e-" + secrets.token_urlsafe(16)


class Hook(ThreadingHTTPServer):
    """A receiver that fails while `failing` is set and records every request."""

    failing = True
    received: list[tuple[dict[str, str], str]]


class Handler(BaseHTTPRequestHandler):
    server: Hook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
        self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(500 if self.server.failing else 204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hook() -> Iterator[Hook]:
    server = Hook(("127.0.0.1", 0), Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def twelve(
    twelve_config: Path, admin_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwelveServer]:
    root = tmp_path_factory.mktemp("webhooks")
    env = server_env(twelve_config, root / "data") | {
        "TWELVE_ADMIN_KEY": admin_key,
        "TWELVE_INTERNAL_KEY": INTERNAL_KEY,
        "TWELVE_EVENTS_ALLOW_NETWORKS": "127.0.0.0/8",
        "TWELVE_EVENTS_RETRY_SCHEDULE": "0.2",
        "TWELVE_EVENTS_POLL_SECONDS": "0.1",
    }
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    yield server
    server.stop()


def wait_status(admin: httpx.Client, webhook_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = admin.get(f"/admin/v1/webhooks/{webhook_id}").json()
        if found["status"] == status:
            return dict(found)
        time.sleep(0.05)
    raise AssertionError(f"{webhook_id} never became {status}: {found}")


def test_a_webhook_is_signed_dead_lettered_and_replayed(
    twelve: TwelveServer, admin_key: str, hook: Hook
) -> None:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=twelve.base_url, headers=headers, timeout=30) as admin:
        customer = admin.post("/admin/v1/customers", json={"name": "hooked"}).json()
        secret = admin.get("/admin/v1/customers/hooked/webhook-secret").json()
        assert secret["secret"].startswith("whsec_")
        assert admin.get("/admin/v1/customers/hooked/webhook-secret").json() == secret

        url = f"http://127.0.0.1:{hook.server_address[1]}/jobs"
        asked = httpx.post(
            f"{twelve.base_url}/internal/events/notify",
            headers={"x-twelve-internal-key": INTERNAL_KEY},
            json={
                "command": {
                    "customer_id": customer["id"],
                    "url": url,
                    "event_type": "job.succeeded",
                    "data": {"job_id": "job_e2e"},
                    "webhook_id": "msg_e2e",
                }
            },
        )
        assert asked.status_code == 200, asked.text

        dead = wait_status(admin, "msg_e2e", "dead")
        assert dead["attempts"] == 2 and dead["last_status_code"] == 500
        listed = admin.get("/admin/v1/webhooks", params={"status": "dead"}).json()
        assert [d["id"] for d in listed["data"]] == ["msg_e2e"]
        assert listed["object"] == "list" and listed["last_id"] == "msg_e2e"

        hook.failing = False
        replayed = admin.post("/admin/v1/webhooks/msg_e2e/retry")
        assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
        delivered = wait_status(admin, "msg_e2e", "delivered")
        assert delivered["last_status_code"] == 204

        sent_headers, body = hook.received[-1]
        payload = Webhook(secret["secret"]).verify(body, sent_headers)
        assert payload["type"] == "job.succeeded" and payload["data"] == {"job_id": "job_e2e"}
        assert len(hook.received) == 3


def test_bad_webhook_requests_are_clear_errors(twelve: TwelveServer, admin_key: str) -> None:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=twelve.base_url, headers=headers, timeout=30) as admin:
        unknown = admin.get("/admin/v1/webhooks/msg_nope")
        assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "webhook_id"
        bad = admin.get("/admin/v1/webhooks", params={"status": "lost"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "status"
        nobody = admin.get("/admin/v1/customers/nobody/webhook-secret")
        assert nobody.status_code == 404
        assert admin.post("/admin/v1/webhooks/msg_nope/retry").status_code == 404
        refused = httpx.post(
            f"{twelve.base_url}/internal/events/notify",
            headers={"x-twelve-internal-key": INTERNAL_KEY},
            json={
                "command": {
                    "customer_id": "cus_x",
                    "url": "http://10.1.2.3/hook",
                    "event_type": "job.succeeded",
                    "data": {},
                    "webhook_id": "msg_private",
                }
            },
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "callback_url"
    assert httpx.get(f"{twelve.base_url}/admin/v1/webhooks").status_code == 401
