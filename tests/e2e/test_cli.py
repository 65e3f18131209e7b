"""The `twelve` command as an operator uses it: first start with no admin key configured, then
customers and keys made from a shell against the data directory a running server uses."""

from __future__ import annotations

import re
import signal
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.server import TwelveServer, run_cli
from tests.e2e.stack import server_env

HELLO = [{"role": "user", "content": "hello from the cli"}]


@dataclass
class Site:
    """A server started on a fresh data directory without TWELVE_ADMIN_KEY."""

    server: TwelveServer
    env: dict[str, str]
    data_dir: Path
    root: Path


@pytest.fixture(scope="module")
def site(twelve_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("cli")
    env = server_env(twelve_config, root / "data")
    server = TwelveServer(env, root / "first-start.log")
    server.start()
    yield Site(server, env, root / "data", root)
    server.stop()


def cli_json(site: Site, *args: str) -> Any:
    done = run_cli(*args, env=site.env)
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


def chat(site: Site, key: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{site.server.base_url}/v1/chat/completions",
        json={"model": model, "messages": HELLO},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def test_first_start_generates_and_prints_an_admin_key(site: Site) -> None:
    printed = re.findall(r"twadmin-[A-Za-z0-9_-]+", site.server.stderr())
    assert len(printed) == 1, site.server.stderr()
    key_file = site.data_dir / "admin.key"
    assert key_file.read_text(encoding="utf-8").strip() == printed[0]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    admin = httpx.get(
        f"{site.server.base_url}/admin/v1/keys", headers={"Authorization": f"Bearer {printed[0]}"}
    )
    assert admin.status_code == 200, admin.text


def test_keys_made_by_the_cli_work_on_the_server(site: Site) -> None:
    customer = cli_json(site, "customers", "create", "cli-co")
    assert customer["name"] == "cli-co"
    assert {"id", "created_at"} <= customer.keys()

    issued = cli_json(site, "keys", "create", "--customer", "cli-co", "--model", "echo")
    assert issued["key"].startswith("tw-")
    assert issued["customer_id"] == customer["id"]
    assert issued["models"] == ["echo"]

    answered = chat(site, issued["key"], "echo")
    assert answered.status_code == 200, answered.text
    assert answered.json()["choices"][0]["message"]["content"] == "echo: hello from the cli"
    assert chat(site, issued["key"], "claude").status_code == 404

    listed = run_cli("keys", "list", env=site.env)
    assert listed.returncode == 0, listed.stderr
    assert issued["id"] in listed.stdout
    assert issued["key"] not in listed.stdout

    revoked = cli_json(site, "keys", "revoke", issued["id"])
    assert revoked["revoked_at"] is not None
    # Another process revoked it: the server's key cache lets it live for at most a second.
    deadline = time.monotonic() + 1.5
    while chat(site, issued["key"], "echo").status_code == 200:
        assert time.monotonic() < deadline, "the revoked key still works"
        time.sleep(0.1)
    assert chat(site, issued["key"], "echo").status_code == 401


def test_cli_errors_are_one_line_without_a_traceback(site: Site) -> None:
    done = run_cli("keys", "create", "--customer", "nobody-by-this-name", env=site.env)
    assert done.returncode == 1
    assert "nobody-by-this-name" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    "bad",
    [{"TWELVE_MAX_BODY_BYTES": "100"}, {"TWELVE_CONFIG": "/nonexistent/twelve.yaml"}],
    ids=["setting-out-of-range", "missing-config-file"],
)
def test_bad_configuration_is_a_message_not_a_traceback(site: Site, bad: dict[str, str]) -> None:
    done = run_cli("serve", "--port", "1", env=site.env | bad)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("twelve: configuration error:"), done.stderr
    assert "Traceback" not in done.stderr


def test_restart_keeps_the_admin_key_and_does_not_print_it(site: Site) -> None:
    key = (site.data_dir / "admin.key").read_text(encoding="utf-8").strip()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it (exit status -SIGTERM).
    assert site.server.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete." in site.server.stderr()
    assert "Traceback" not in site.server.stderr()
    again = TwelveServer(site.env, site.root / "second-start.log")
    again.start()
    try:
        assert key not in again.stderr()
        assert str(site.data_dir / "admin.key") in again.stderr()
        admin = httpx.get(
            f"{again.base_url}/admin/v1/keys", headers={"Authorization": f"Bearer {key}"}
        )
        assert admin.status_code == 200, admin.text
    finally:
        again.stop()
