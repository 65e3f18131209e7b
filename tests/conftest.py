"""Fixtures shared by every test: real databases on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.databases import module_database
from twelve.kernel.db import Database

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
