"""The `twelve` command as an operator uses it: first start with no admin key configured, then
customers and keys made from a shell against the data directory a running server uses."""

from __future__ import annotations

import os
import pty
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.server import TwelveServer, clean_env, free_port, run_cli
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


def test_customers_and_keys_are_shown_by_id_or_name(site: Site) -> None:
    customer = cli_json(site, "customers", "create", "show-co")
    assert cli_json(site, "customers", "show", "show-co") == customer
    assert cli_json(site, "customers", "show", customer["id"], "--json") == customer
    issued = cli_json(site, "keys", "create", "--customer", customer["id"], "--name", "ci")
    shown = cli_json(site, "keys", "show", issued["id"])
    assert shown["id"] == issued["id"] and "key" not in shown
    for ref in ("show-co", customer["id"]):
        assert [k["id"] for k in cli_json(site, "keys", "list", "--customer", ref)] == [
            issued["id"]
        ]


@pytest.mark.parametrize(
    "args",
    [
        ("customers", "create", ""),
        ("customers", "create", "bell\x07name"),
        ("customers", "show", "nobody-at-all"),
        ("keys", "list", "--customer", "nobody-at-all"),
        ("keys", "show", "key_nope"),
        ("keys", "revoke", "key_nope"),
        ("keys", "create", "--customer", "cli-co", "--model", "no-such-model"),
    ],
)
def test_mistakes_are_one_line_without_a_traceback(site: Site, args: tuple[str, ...]) -> None:
    done = run_cli(*args, env=site.env)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("twelve: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout and done.stdout == ""


def run_on_a_terminal(site: Site, *args: str) -> str:
    """What `twelve ARGS` prints when its stdout is a terminal (a pseudo-terminal here)."""
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("twelve")), *args],
            env=clean_env(site.env),
            stdout=follower,
            stderr=subprocess.PIPE,
            timeout=30,
            check=False,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert done.returncode == 0, done.stderr
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_a_terminal_gets_tables_and_scripts_get_json(site: Site) -> None:
    customer = cli_json(site, "customers", "create", "table-co")
    listed = run_on_a_terminal(site, "customers", "list")
    header, *rows = listed.splitlines()
    assert header.split() == ["ID", "NAME", "CREATED"]
    row = next(r for r in rows if customer["id"] in r)
    assert re.search(r"table-co\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$", row), row

    issued = run_on_a_terminal(site, "keys", "create", "--customer", "table-co")
    key = re.search(r"^key\s+(tw-\S+)$", issued, re.MULTILINE)
    assert key is not None, issued
    assert "shown only now" in issued
    forced = orjson.loads(
        run_on_a_terminal(site, "keys", "list", "--customer", "table-co", "--json")
    )
    assert [k["prefix"] for k in forced] == [key.group(1)[:10]]


COMMANDS = [
    ("customers", "create"),
    ("customers", "list"),
    ("customers", "show"),
    ("keys", "create"),
    ("keys", "list"),
    ("keys", "show"),
    ("keys", "revoke"),
    ("admin-key", "rotate"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_without_type_noise(site: Site, command: tuple[str, str]) -> None:
    for flag in ("-h", "--help"):
        done = run_cli(*command, flag, env=site.env)
        assert done.returncode == 0, done.stderr
        usage, summary = done.stdout.split("\n\n")[:2]
        assert usage.startswith(f"Usage: twelve {' '.join(command)}")
        assert summary.strip(), done.stdout  # the command says what it does
        assert "<bool>" not in done.stdout and "<str>" not in done.stdout, done.stdout
        options = done.stdout.split("Options:\n", 1)[1].splitlines()
        assert all(len(line.split("  ")) > 1 or line.startswith("    ") for line in options), (
            done.stdout
        )


def test_the_admin_commands_import_nothing_heavy() -> None:
    heavy = ("fastapi", "sqlalchemy", "aiohttp", "uvicorn", "twelve.app.bootstrap")
    probe = (
        "import sys, typer; from twelve.app import admin_commands; "
        "admin_commands.register(typer.Typer()); "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_admin_key_rotation_reaches_the_running_server(site: Site) -> None:
    old = (site.data_dir / "admin.key").read_text(encoding="utf-8").strip()
    rotated = cli_json(site, "admin-key", "rotate")
    assert rotated["path"] == str(site.data_dir / "admin.key")
    assert (site.data_dir / "admin.key").read_text(encoding="utf-8").strip() == rotated["key"]
    assert stat.S_IMODE((site.data_dir / "admin.key").stat().st_mode) == 0o600

    def status(key: str) -> int:
        url = f"{site.server.base_url}/admin/v1/customers"
        return httpx.get(url, headers={"Authorization": f"Bearer {key}"}).status_code

    assert status(rotated["key"]) == 200  # no restart
    assert status(old) == 401

    configured = run_cli("admin-key", "rotate", env=site.env | {"TWELVE_ADMIN_KEY": "x" * 40})
    assert configured.returncode == 1 and "TWELVE_ADMIN_KEY is set" in configured.stderr
    assert (site.data_dir / "admin.key").read_text(encoding="utf-8").strip() == rotated["key"]


@pytest.mark.parametrize(
    ("content", "mode", "says"),
    [
        ("", 0o600, "is empty"),
        ("twadmin-abc\n", 0o600, "only 11 characters"),
        ("twadmin-" + "k" * 40, 0o644, "chmod 600"),
    ],
    ids=["empty", "truncated", "world-readable"],
)
def test_an_untrustworthy_admin_key_file_stops_the_server(
    twelve_config: Path, tmp_path: Path, content: str, mode: int, says: str
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "admin.key").write_text(content, encoding="utf-8")
    (data_dir / "admin.key").chmod(mode)
    env = server_env(twelve_config, data_dir)
    done = run_cli("serve", "--port", str(free_port()), env=env)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("twelve:")]
    assert len(lines) == 1 and says in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_data_dir_picks_the_servers_data_and_a_new_one_is_announced(
    site: Site, tmp_path: Path
) -> None:
    elsewhere = {k: v for k, v in site.env.items() if k != "TWELVE_DATA_DIR"}
    made = run_cli("customers", "create", "dir-co", "--data-dir", str(site.data_dir), env=elsewhere)
    assert made.returncode == 0 and made.stderr == "", made.stderr
    assert cli_json(site, "customers", "show", "dir-co")["id"] == orjson.loads(made.stdout)["id"]

    fresh = tmp_path / "fresh"
    listed = run_cli("customers", "list", "--data-dir", str(fresh), env=elsewhere)
    assert listed.returncode == 0 and orjson.loads(listed.stdout) == []
    assert f"{fresh} does not exist" in listed.stderr
    assert "TWELVE_DATA_DIR" in listed.stderr


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


def test_one_shot_commands_say_nothing_about_models(site: Site) -> None:
    """A command serves no model: start-up warnings about models are the server's to give."""
    no_config = {k: v for k, v in site.env.items() if k != "TWELVE_CONFIG"}
    done = run_cli("customers", "list", "--json", env=no_config)
    assert done.returncode == 0, done.stderr
    assert "models" not in done.stderr and "credentials" not in done.stderr, done.stderr
