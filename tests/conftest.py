"""Fixtures shared by every test: real databases on SQLite and PostgreSQL, a fake upstream (a real
HTTP server on 127.0.0.1) and the pooled HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.databases import module_database
from tests.fakes.upstream import FakeUpstream
from twelve.kernel.db import Database
from twelve.kernel.http_client import HttpClient

BACKENDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


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
