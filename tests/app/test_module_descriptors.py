"""A module's descriptor is all bootstrap needs: two made-up modules, wired by the same code as the
real ones, in one process (a port is the service itself) and split in two processes (a port is a
client generated from its Protocol, calling internal routes generated from the same Protocol)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI

from twelve.app.asgi import create_app
from twelve.app.bootstrap import build
from twelve.app.settings import Settings
from twelve.kernel.commands import command
from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec

INTERNAL_KEY = "int-" + "0" * 40


class Notes(Protocol):
    @command
    async def add(self, text: str) -> int: ...

    async def texts(self) -> list[str]: ...


class NotesInMemory:
    def __init__(self) -> None:
        self.kept: list[str] = []
        self.events: list[str] = []

    async def add(self, text: str) -> int:
        self.kept.append(text)
        return len(self.kept)

    async def texts(self) -> list[str]:
        return list(self.kept)

    async def open(self) -> None:
        self.events.append("start")

    async def close(self) -> None:
        self.events.append("stop")


def build_notes(context: ModuleContext) -> Built:
    notes = NotesInMemory()
    context.on_start(notes.open)
    context.on_stop(notes.close)
    return Built(services={Notes: notes}, facts=[notes])


def build_desk(context: ModuleContext) -> Built:
    notes: Notes = context.port(Notes)
    router = APIRouter()

    @router.post("/v1/notes")
    async def add() -> dict[str, object]:
        return {"count": await notes.add("hello"), "texts": await notes.texts()}

    return Built(routers=[router], facts=[notes])


# Reserved module names, so that the process's settings accept them.
CATALOGUE = (
    ModuleSpec(name="storage", provides=(Notes,), build=build_notes),
    ModuleSpec(name="jobs", build=build_desk),
)


async def post_note(app: FastAPI) -> httpx.Response:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        return await client.post("/v1/notes")


async def test_a_descriptor_is_wired_in_one_process(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, modules="storage,jobs")
    container = build(settings, CATALOGUE)
    notes = container.fact(NotesInMemory)
    assert notes is not None and container.internal == {}
    response = await post_note(create_app(settings, container))
    assert response.json() == {"count": 1, "texts": ["hello"]}
    assert notes.events == ["start", "stop"]


@pytest.fixture
async def storage_process(tmp_path: Path) -> AsyncIterator[tuple[str, NotesInMemory]]:
    settings = Settings(data_dir=tmp_path / "s", modules="storage", internal_key=INTERNAL_KEY)
    container = build(settings, CATALOGUE)
    notes = container.fact(NotesInMemory)
    assert notes is not None and set(container.internal) == {"storage"}
    assert container.internal["storage"].commands == {"add"}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings, container), host="127.0.0.1", port=port)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(600):  # up to 30 s on a loaded machine
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}", notes
    server.should_exit = True
    await serving


async def test_a_descriptor_is_wired_across_processes(
    tmp_path: Path, storage_process: tuple[str, NotesInMemory]
) -> None:
    url, served = storage_process
    settings = Settings(
        data_dir=tmp_path / "j", modules="jobs", internal_key=INTERNAL_KEY, storage_url=url
    )
    container = build(settings, CATALOGUE)
    remote = container.fact(object)  # the desk's port: a client generated from `Notes`
    assert type(remote).__name__ == "RemoteNotes"
    response = await post_note(create_app(settings, container))
    assert response.json() == {"count": 1, "texts": ["hello"]}
    assert served.kept == ["hello"]
    container = build(settings, CATALOGUE)
    assert (await container.readiness()).modules == {"storage": "ok"}
    await container.stop()
