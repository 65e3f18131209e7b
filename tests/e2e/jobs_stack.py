"""What the jobs tests share: a `twelve serve` with fast queue settings, a customer and key made
through the admin API, polling a job until it ends, and a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.databases import PG_ADMIN_DSN, postgres_missing
from tests.e2e.server import TWELVE
from tests.e2e.stack import MODELS, config_yaml, server_env

TERMINAL = {"succeeded", "failed", "dead", "cancelled"}

# Queue and retry settings small enough for tests: a job starts within ~0.1 s of being queued.
FAST_JOBS = {
    "TWELVE_JOBS_POLL_SECONDS": "0.05",
    "TWELVE_JOBS_BACKOFF_BASE_SECONDS": "0.05",
    "TWELVE_JOBS_BACKOFF_MAX_SECONDS": "0.2",
    "TWELVE_JOBS_RECONCILE_SECONDS": "0.5",
    "TWELVE_EVENTS_ALLOW_NETWORKS": "127.0.0.0/8",
    "TWELVE_JOBS_ALLOW_NETWORKS": "127.0.0.0/8",
    "TWELVE_EVENTS_RETRY_SCHEDULE": "0.1,0.2,0.3,0.5,0.5,1,1,1,1,1",
    "TWELVE_EVENTS_POLL_SECONDS": "0.1",
    "TWELVE_EVENTS_TIMEOUT_SECONDS": "1",
    "TWELVE_GATEWAY_RETRIES": "0",
}


def jobs_config(path: Path, upstream_url: str, extra: Mapping[str, str] | None = None) -> Path:
    """The e2e models plus `extra` (name -> upstream model id) on the fake upstream."""
    added = {name: [("openai", model, 10.0)] for name, model in (extra or {}).items()}
    path.write_text(config_yaml(upstream_url, MODELS | added), encoding="utf-8")
    return path


def jobs_env(config: Path, data_dir: Path, admin_key: str) -> dict[str, str]:
    return server_env(config, data_dir) | {"TWELVE_ADMIN_KEY": admin_key} | FAST_JOBS


@contextmanager
def shared_database(backend: str) -> Iterator[dict[str, str]]:
    """The settings that put several processes on one store: none for the embedded default (they
    share the data directory's SQLite files), else a fresh PostgreSQL database (dropped after)
    for the modules and DBOS, with small pools (the server allows 100 connections)."""
    if backend == "sqlite":
        yield {}
        return
    missing = postgres_missing()
    if missing and os.environ.get("CI") != "true":
        pytest.skip(missing)
    name = f"twelve_test_{secrets.token_hex(6)}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield {
            "TWELVE_DATABASE_URL": url,
            "TWELVE_JOBS_SYSTEM_DATABASE_URL": url,
            "TWELVE_DB_POOL_SIZE": "2",
            "TWELVE_DB_MAX_OVERFLOW": "2",
            "TWELVE_JOBS_SYSTEM_POOL_SIZE": "4",
        }
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg(statement: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def new_key(admin: httpx.Client, name: str) -> str:
    customer = admin.post("/customers", json={"name": name})
    assert customer.status_code == 201, customer.text
    key = admin.post("/keys", json={"customer_id": customer.json()["id"], "name": name})
    assert key.status_code == 201, key.text
    return str(key.json()["key"])


def wait_ended(client: httpx.Client, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job.get("status") in TERMINAL:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end in {timeout} s: {job}")


def chat_job(text: str, model: str = "echo", **extra: Any) -> dict[str, Any]:
    return {
        "task_type": "chat_completion",
        "parameters": {"model": model, "messages": [{"role": "user", "content": text}]},
        **extra,
    }


class Receiver(ThreadingHTTPServer):
    """A webhook receiver that records every request and answers with `answer(n)` (status, or
    None to hang for `hang_seconds`)."""

    daemon_threads = True
    hang_seconds = 3.0

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        self.answer = lambda _n: 204
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with self.server.lock:
            self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            n = len(self.server.received)
        status = self.server.answer(n)
        if status is None:
            time.sleep(self.server.hang_seconds)
            status = 204
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class Worker:
    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.env, self.log = name, env, log
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [TWELVE, "worker", "--name", self.name],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
