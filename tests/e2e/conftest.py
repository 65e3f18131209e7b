"""Session fixtures for end-to-end tests: one fake upstream, one `twelve serve` process in front of
it, and a customer with an API key made through the admin API.

Every test in this folder shares the one server (starting it costs seconds); a test that needs a
fresh data directory starts its own `TwelveServer`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.e2e.server import STARTED, TwelveServer
from tests.e2e.stack import UPSTREAM_KEY, IssueKey, config_yaml, server_env
from tests.fakes.upstream import FakeUpstream


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing end-to-end test shows the tail of every running server's stderr."""
    report = yield
    if report.failed:
        for server in STARTED:
            if not server.stopped:  # running, or died on its own: either way, worth seeing
                tail = "\n".join(server.stderr().splitlines()[-60:])
                report.sections.append((f"twelve serve stderr (port {server.port})", tail))
    return report


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture(scope="session")
def twelve_config(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "twelve.yaml"
    path.write_text(config_yaml(upstream.base_url), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def admin_key() -> str:
    return "twadmin-e2e-" + secrets.token_urlsafe(16)


@pytest.fixture(scope="session")
def server(
    twelve_config: Path, admin_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwelveServer]:
    root = tmp_path_factory.mktemp("twelve")
    env = server_env(twelve_config, root / "data") | {"TWELVE_ADMIN_KEY": admin_key}
    twelve = TwelveServer(env, root / "stderr.log")
    twelve.start()
    yield twelve
    died = not twelve.running
    twelve.stop()
    assert not died, f"twelve serve exited during the tests:\n{twelve.stderr()[-4000:]}"


@pytest.fixture(scope="session")
def admin(server: TwelveServer, admin_key: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{server.base_url}/admin/v1", headers=headers) as client:
        yield client


@pytest.fixture(scope="session")
def customer(admin: httpx.Client) -> dict[str, Any]:
    response = admin.post("/customers", json={"name": "e2e-acme"})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture(scope="session")
def issue_key(admin: httpx.Client, customer: dict[str, Any]) -> IssueKey:
    """Issue a key for the session's customer (optionally limited to `models`)."""

    def issue(name: str = "e2e", models: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"customer_id": customer["id"], "name": name}
        if models is not None:
            body["models"] = models
        response = admin.post("/keys", json=body)
        assert response.status_code == 201, response.text
        issued: dict[str, Any] = response.json()
        return issued

    return issue


@pytest.fixture(scope="session")
def api_key(issue_key: IssueKey) -> str:
    key: str = issue_key("e2e-main")["key"]
    return key


@pytest.fixture(scope="session")
def api(server: TwelveServer, api_key: str) -> Iterator[httpx.Client]:
    """Raw HTTP to the public API with the session's key, for exact bytes and headers."""
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def client(server: TwelveServer, api_key: str) -> Iterator[OpenAI]:
    """The official SDK, synchronous, pointed at Twelve (no SDK retries: we count attempts)."""
    with OpenAI(api_key=api_key, base_url=f"{server.base_url}/v1", max_retries=0) as sdk:
        yield sdk


@pytest.fixture
async def async_client(server: TwelveServer, api_key: str) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(api_key=api_key, base_url=f"{server.base_url}/v1", max_retries=0) as sdk:
        yield sdk
