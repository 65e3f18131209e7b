"""`twelve serve` started as a user starts it: what it says, what it refuses, and how it fails.

Every refusal is one line on stderr naming what to change, exit code 2, and nothing done before
it (no data directory, no admin key) — never a traceback.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import TwelveServer, free_port, run_cli
from tests.e2e.stack import server_env

LONG_KEY = "k" * 40


CONFIGURATION = "configuration error: "


def assert_one_line_refusal(result: object, starts: str) -> None:
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert result.returncode == 2, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [stderr.strip()], stderr
    assert stderr.startswith(f"twelve: {starts}"), stderr


@pytest.mark.parametrize(
    ("env", "args", "starts"),
    [
        ({"TWELVE_PORT": "99999"}, (), "TWELVE_PORT: must be ≤ 65535 (got 99999)"),
        ({"TWELVE_LOG_LEVEL": "LOUD"}, (), "TWELVE_LOG_LEVEL: must be one of"),
        ({"TWELVE_DATABASE_URL": "notadsn"}, (), "TWELVE_DATABASE_URL: must be a PostgreSQL URL"),
        ({"TWELVE_INTERNAL_KEY": "short"}, (), "TWELVE_INTERNAL_KEY: must be at least 32"),
        ({"TWELVE_ADMIN_KEY": "short"}, (), "TWELVE_ADMIN_KEY: must be at least 32"),
        ({}, ("--modules", ""), "--modules: name at least one module"),
        ({"TWELVE_DATA_DIR": "/proc/nope"}, ("--port", "0"), "TWELVE_DATA_DIR: cannot use"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_SAMPLER": "most"},
            ("--port", "0"),
            "OTEL_TRACES_SAMPLER: unknown sampler 'most'",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
                "OTEL_TRACES_SAMPLER": "traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "5",
            },
            ("--port", "0"),
            "OTEL_TRACES_SAMPLER_ARG: '5' is not a ratio in [0, 1]",
        ),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], starts: str
) -> None:
    env = {"TWELVE_DATA_DIR": str(tmp_path / "data")} | env
    result = run_cli("serve", *args, env=env)
    assert_one_line_refusal(result, CONFIGURATION + starts)


def test_a_misspelt_config_key_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "twelve.yaml"
    config.write_text("modelz:\n  - name: echo\n", encoding="utf-8")
    env = {"TWELVE_CONFIG": str(config), "TWELVE_DATA_DIR": str(tmp_path / "data")}
    result = run_cli("serve", "--port", "0", env=env)
    assert_one_line_refusal(
        result, f"{CONFIGURATION}config file {config}: unknown top-level key `modelz`"
    )


def test_a_busy_port_is_one_line_before_anything_is_done(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        data = tmp_path / "data"
        env = {"TWELVE_DATA_DIR": str(data), "TWELVE_PORT": str(port)}
        by_variable = run_cli("serve", env=env)
        result = run_cli("serve", "--port", str(port), env=env)
    assert_one_line_refusal(
        by_variable, f"TWELVE_PORT: cannot listen on 127.0.0.1:{port}: address already in use"
    )
    assert_one_line_refusal(
        result, f"--port: cannot listen on 127.0.0.1:{port}: address already in use"
    )
    assert not data.exists()  # no admin key generated, no migrations run
    assert "admin key" not in result.stdout


def test_a_deployment_pointing_at_the_server_itself_is_refused(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "twelve.yaml"
    env = {"TWELVE_CONFIG": str(config), "TWELVE_DATA_DIR": str(tmp_path / "data")}
    config.write_text(
        "models:\n  - name: local\n    deployments:\n"
        f"      - {{provider: vllm, model: m, base_url: 'http://localhost:{port}/v1'}}\n",
        encoding="utf-8",
    )
    result = run_cli("serve", "--port", str(port), env=env)
    assert_one_line_refusal(
        result, f"{CONFIGURATION}model `local` deployment 1 (vllm) points at this server"
    )


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[TwelveServer]:
    """A server with no TWELVE_CONFIG, an empty TWELVE_INTERNAL_KEY, and the default config's
    habit of leaving credentials empty."""
    server = TwelveServer(
        {"TWELVE_DATA_DIR": str(tmp_path / "data"), "TWELVE_INTERNAL_KEY": ""},
        tmp_path / "stderr.log",
    )
    server.start()
    yield server
    server.stop()


def test_an_empty_internal_key_opens_nothing(plain_server: TwelveServer) -> None:
    # Before: `TWELVE_INTERNAL_KEY= twelve serve` mounted the internal routes, and an empty
    # header matched the empty key — a working full API key for anyone.
    for route in ("credits/create_customer", "gateway/create_key", "gateway/list_keys"):
        response = httpx.post(f"{plain_server.base_url}/internal/{route}", json={"name": "x"})
        assert response.status_code == 404, response.text
        assert "error" in response.json()


def test_the_banner_tells_the_truth(plain_server: TwelveServer) -> None:
    lines = plain_server.stderr().splitlines()
    banner = [line for line in lines if line.startswith("Twelve: ")]
    served = (
        "gateway, chat, completion, embeddings, images, audio, credits, models, jobs, storage, "
        "events, admin"
    )
    assert f"Twelve: modules {served}" in banner
    assert "Twelve: 0 models from no TWELVE_CONFIG" in banner
    assert banner[-1] == f"Twelve: serving on {plain_server.base_url}"
    plain_server.wait_for_log(event="loaded 0 models from nowhere (TWELVE_CONFIG is unset)")
    warning = plain_server.wait_for_log(level="warning", logger="twelve.config")
    assert "no models" in warning["event"]


def test_missing_credentials_are_warned_and_listed_in_readyz(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {
        "TWELVE_CONFIG": str(repo / "config" / "twelve.yaml"),
        "TWELVE_DATA_DIR": str(tmp_path / "data"),
    }
    server = TwelveServer(env, tmp_path / "stderr.log")
    server.start()
    try:
        ready = httpx.get(f"{server.base_url}/readyz")
        server.wait_for_log(event=f"loaded 4 models from {env['TWELVE_CONFIG']}")
        warnings = [
            r["event"] for r in server.log_records() if "has no credentials" in r.get("event", "")
        ]
    finally:
        server.stop()
    assert ready.status_code == 200
    listed = ready.json()["missing_credentials"]
    assert listed == [
        "model `gpt-4o-mini` deployment 1 (openai)",
        "model `claude-haiku` deployment 1 (anthropic)",
        "model `text-embedding-3-small` deployment 1 (openai)",
    ]
    assert len(warnings) == 3
    assert all(w.startswith(m) for w, m in zip(warnings, listed, strict=True))


def test_metrics_behind_a_token_on_a_port_of_its_own(tmp_path: Path) -> None:
    token = secrets.token_hex(20)
    metrics_port = free_port()
    env = {
        "TWELVE_DATA_DIR": str(tmp_path / "data"),
        "TWELVE_METRICS_TOKEN": token,
        "TWELVE_METRICS_PORT": str(metrics_port),
    }
    server = TwelveServer(env, tmp_path / "stderr.log")
    server.start()
    try:
        on_main = httpx.get(f"{server.base_url}/metrics")
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        anonymous = httpx.get(metrics_url)
        wrong = httpx.get(metrics_url, headers={"Authorization": "Bearer " + "x" * 40})
        allowed = httpx.get(metrics_url, headers={"Authorization": f"Bearer {token}"})
    finally:
        code = server.stop()
    assert on_main.status_code == 404
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "authentication_error"
    assert wrong.status_code == 401
    assert allowed.status_code == 200
    assert "twelve_" in allowed.text or "# HELP" in allowed.text
    assert code in (0, -15)  # stopped by SIGTERM with both listeners


def test_readyz_checks_the_remote_modules_it_depends_on(
    twelve_config: Path, tmp_path: Path
) -> None:
    workers = TwelveServer(
        server_env(twelve_config, tmp_path / "w")
        | {"TWELVE_MODULES": "models,chat,completion,embeddings", "TWELVE_INTERNAL_KEY": LONG_KEY},
        tmp_path / "workers.log",
    )
    workers.start()
    gone = f"http://127.0.0.1:{free_port()}"
    try:
        edges = {}
        for name, key, models_url in [
            ("right", LONG_KEY, workers.base_url),
            ("wrong-key", "w" * 40, workers.base_url),
            ("down", LONG_KEY, gone),
        ]:
            env = {
                "TWELVE_DATA_DIR": str(tmp_path / name),
                "TWELVE_MODULES": "gateway,admin,credits,storage",
                "TWELVE_INTERNAL_KEY": key,
                "TWELVE_MODELS_URL": models_url,
            } | {f"TWELVE_{m}_URL": workers.base_url for m in ("CHAT", "COMPLETION", "EMBEDDINGS")}
            edge = TwelveServer(env, tmp_path / f"{name}.log", ready_path="/healthz")
            edge.start()
            try:
                edges[name] = httpx.get(f"{edge.base_url}/readyz", timeout=10)
            finally:
                edge.stop()
    finally:
        workers.stop()
    assert edges["right"].status_code == 200, edges["right"].text
    assert set(edges["right"].json()["modules"].values()) == {"ok"}
    assert edges["wrong-key"].status_code == 503
    assert edges["wrong-key"].json()["modules"]["models"] == "refuses the internal key"
    assert edges["down"].status_code == 503
    assert edges["down"].json()["modules"]["models"].startswith("unreachable")


def test_data_dir_option_applies_to_every_command(tmp_path: Path) -> None:
    data = tmp_path / "elsewhere"
    result = run_cli("--data-dir", str(data), "migrate", env={})
    assert result.returncode == 0, result.stderr
    assert (data / "gateway.db").is_file() and (data / "credits.db").is_file()


def test_version_and_short_help() -> None:
    version = run_cli("--version", env={})
    assert version.returncode == 0
    assert version.stdout.startswith("twelve ")
    assert run_cli("-h", env={}).returncode == 0
