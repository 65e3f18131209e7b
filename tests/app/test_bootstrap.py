"""Bootstrap on the embedded default: SQLite files in the data dir, migrations applied at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from twelve.app.bootstrap import build
from twelve.app.settings import Settings
from twelve.app.startup_error import StartupError
from twelve.kernel.config_file import ConfigFileError

ADMIN_KEY = "adm-" + "0" * 40
INTERNAL_KEY = "int-" + "0" * 40


async def test_migrations_are_idempotent_across_restarts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, admin_key=ADMIN_KEY)
    first = build(settings)
    await first.start()
    await first.administration().create_customer("acme")
    await first.stop()
    assert (tmp_path / "gateway.db").is_file()
    assert (tmp_path / "credits.db").is_file()

    second = build(settings)
    await second.start()
    try:
        customers = await second.administration().customers.list_customers()
        assert [c.name for c in customers] == ["acme"]
    finally:
        await second.stop()


def test_unknown_modules_are_refused() -> None:
    with pytest.raises(ValidationError, match="unknown modules"):
        Settings(modules="gateway,nope")


def test_a_module_served_elsewhere_needs_its_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"TWELVE_\w+_URL and TWELVE_INTERNAL_KEY"):
        build(Settings(data_dir=tmp_path, modules="gateway,admin"))


def test_a_worker_process_has_no_databases_and_no_public_api(tmp_path: Path) -> None:
    container = build(Settings(data_dir=tmp_path, modules="models,chat", internal_key=INTERNAL_KEY))
    assert container.databases == {}
    assert container.routers == [] and container.admin is None
    assert set(container.internal) == {"models", "chat"}


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "twelve.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_empty_internal_key_mounts_no_internal_routes(tmp_path: Path) -> None:
    container = build(Settings(data_dir=tmp_path, internal_key="", admin_key=ADMIN_KEY))
    assert container.settings.internal_key is None
    assert container.internal == {}


def test_a_misspelt_top_level_key_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, "modelz:\n  - name: x\n")
    with pytest.raises(
        ConfigFileError,
        match=r"unknown top-level key `modelz` \(known: models, webhooks, workflows\)",
    ):
        build(Settings(data_dir=tmp_path, config=config))


def test_a_bad_model_is_one_line_naming_where(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "models:\n  - name: x\n    deployments:\n      - provider: nope\n        model: m\n",
    )
    with pytest.raises(ConfigFileError) as caught:
        build(Settings(data_dir=tmp_path, config=config))
    message = str(caught.value)
    assert message.startswith(f"config file {config}: models.0.deployments.0.provider: ")
    assert "unknown provider `nope`" in message
    assert "\n" not in message


@pytest.mark.parametrize("text", [None, "", "models: []\n"])
def test_zero_models_are_counted(tmp_path: Path, text: str | None) -> None:
    config = None if text is None else write_config(tmp_path, text)
    container = build(Settings(data_dir=tmp_path, config=config))
    assert container.models is not None
    assert container.models.count == 0
    assert container.models.path == config


DEPLOYMENTS = """\
models:
  - name: hosted-no-key
    deployments:
      - {provider: openai, model: m, api_key: ""}
  - name: hosted-with-key
    deployments:
      - {provider: openai, model: m, api_key: sk-real}
  - name: hosted-with-header
    deployments:
      - provider: openai-compatible
        base_url: https://gateway.example.com/v1
        model: m
        headers: {Ocp-Apim-Subscription-Key: abc}
  - name: local
    deployments:
      - {provider: ollama, model: m}
  - name: fallback
    deployments:
      - {provider: openai, model: m, api_key: sk-real}
      - {provider: anthropic, model: m}
"""


def test_deployments_without_credentials_are_listed(tmp_path: Path) -> None:
    config = write_config(tmp_path, DEPLOYMENTS)
    container = build(Settings(data_dir=tmp_path, config=config))
    assert container.models is not None
    assert container.models.missing_credentials == [
        "model `hosted-no-key` deployment 1 (openai)",
        "model `fallback` deployment 2 (anthropic)",
    ]


async def test_readiness_lists_them_but_stays_ready(tmp_path: Path) -> None:
    config = write_config(tmp_path, DEPLOYMENTS)
    container = build(Settings(data_dir=tmp_path, config=config))
    await container.start()
    try:
        state = await container.readiness()
    finally:
        await container.stop()
    assert state.ready
    assert state.body()["missing_credentials"] == [
        "model `hosted-no-key` deployment 1 (openai)",
        "model `fallback` deployment 2 (anthropic)",
    ]


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8080/v1", "http://localhost:8080", "http://127.1.2.3:8080/"]
)
def test_a_deployment_pointing_at_this_server_is_refused(tmp_path: Path, base_url: str) -> None:
    config = write_config(
        tmp_path,
        f"models:\n  - name: loop\n    deployments:\n"
        f"      - {{provider: openai, model: m}}\n"
        f"      - {{provider: vllm, model: m, base_url: '{base_url}'}}\n",
    )
    with pytest.raises(ConfigFileError, match=r"model `loop` deployment 2 \(vllm\) points at this"):
        build(Settings(data_dir=tmp_path, config=config, port=8080))


def test_llamacpps_default_is_refused_when_twelve_listens_on_its_port(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "models:\n  - name: l\n    deployments:\n      - {provider: llamacpp, model: m}\n"
    )
    build(Settings(data_dir=tmp_path, config=config, port=9000))  # another port: fine
    with pytest.raises(ConfigFileError, match="points at this server itself"):
        build(Settings(data_dir=tmp_path, config=config, port=8081))


async def start_failure(settings: Settings) -> str:
    """The one line `Container.start` fails with (the test fails if it starts)."""
    container = build(settings)
    try:
        with pytest.raises(StartupError) as caught:
            await container.start()
    finally:
        await container.stop()
    message = str(caught.value)
    assert "\n" not in message
    return message


async def test_a_database_that_cannot_be_used_is_one_line(tmp_path: Path) -> None:
    message = await start_failure(
        Settings(data_dir=tmp_path, gateway_database_url="postgresql://nobody:pw@127.0.0.1:1/x")
    )
    assert message.startswith("TWELVE_GATEWAY_DATABASE_URL: cannot use the gateway database ")
    assert "nobody:***@" in message and ":pw@" not in message
    assert "ConnectionRefusedError" in message or "OSError" in message


async def test_start_is_idempotent(tmp_path: Path) -> None:
    container = build(Settings(data_dir=tmp_path))
    await container.start()
    try:
        await container.start()
        assert container.started
    finally:
        await container.stop()
