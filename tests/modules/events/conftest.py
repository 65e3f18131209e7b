from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.databases import module_database
from tests.modules.events.receiver import Receiver, receiver
from twelve.kernel.db import Database


@pytest.fixture
async def events_db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with module_database("events", backend, tmp_path) as db:
        yield db


@pytest.fixture
async def hook() -> AsyncIterator[Receiver]:
    async with receiver() as found:
        yield found
