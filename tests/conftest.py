"""Fixtures shared by every test: real databases on SQLite and PostgreSQL, a fake upstream (a real
HTTP server on 127.0.0.1) and the pooled HTTP client.

Tests marked `postgres` need the server at TWELVE_TEST_PG_DSN. Without it they are skipped with
one line saying so, except on CI (`CI=true`), where each fails with that line: CI must test
PostgreSQL, and a server that is down there is a broken build, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.databases import module_database, postgres_missing
from tests.fakes.upstream import FakeUpstream
from twelve.kernel.db import Database
from twelve.kernel.http_client import HttpClient

# In-process apps built from the environment list the sidecar's models unless it is off; tests
# that want it turn it on themselves.
os.environ.setdefault("TWELVE_SIDECAR", "off")
# In-process apps do not work the job queue (DBOS is one per process and would outlive each
# test's app); `twelve serve` processes started by tests do, as they do by default.
os.environ.setdefault("TWELVE_JOBS_WORKER", "false")

BACKENDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    wanting = [item for item in items if item.get_closest_marker("postgres")]
    missing = postgres_missing() if wanting else None
    if missing is not None and not _on_ci():
        for item in wanting:
            item.add_marker(pytest.mark.skip(reason=missing))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and _on_ci():
        missing = postgres_missing()
        if missing is not None:
            pytest.fail(f"CI needs PostgreSQL: {missing}", pytrace=False)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
async def credits_db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with module_database("credits", backend, tmp_path) as db:
        yield db


@pytest.fixture
async def gateway_db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with module_database("gateway", backend, tmp_path) as db:
        yield db


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient()
    yield client
    await client.close()
