"""The bad-input corpus (`tests/app/corpus/requests.py`) against every public and admin route of
the in-process app, with a real API key, the admin key and a fake upstream on 127.0.0.1.

Every answer is a served 2xx or an OpenAI-shaped 4xx: never a 5xx, never a traceback. A refused
request writes nothing: only served requests reach the upstream or add a customer or a key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.corpus import requests as corpus
from tests.app.corpus.stack import Stack, serving
from tests.fakes.upstream import FakeUpstream
from tests.support.openai_spec import errors as spec_errors

PUBLIC_POSTS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]
ADMIN_POSTS = ["/admin/v1/customers", "/admin/v1/keys"]
GETS = ["/v1/models", "/v1/models/echo", "/admin/v1/customers", "/admin/v1/keys",
        "/healthz", "/readyz", "/metrics"]  # fmt: skip


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def stack(upstream: FakeUpstream, tmp_path: Path) -> AsyncIterator[Stack]:
    async with serving(upstream, tmp_path) as running:
        yield running


class Ledger:
    """What the app was asked and answered, checked at the end of a test."""

    def __init__(self, stack: Stack, upstream: FakeUpstream) -> None:
        self.stack, self.upstream = stack, upstream
        self.problems: list[str] = []
        self.served_public = 0
        self.served_creates = 0

    async def send(self, label: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if path.startswith("/admin/"):
            kwargs["headers"] = self.stack.admin | kwargs.get("headers", {})
        calls = len(self.upstream.requests)
        response = await self.stack.client.request(method, path, **kwargs)
        self.problems += [f"{label} {method} {path}: {p}" for p in _problems(response)]
        if response.status_code >= 400 and len(self.upstream.requests) > calls:
            self.problems.append(
                f"{label} {path}: refused after an upstream call: {response.text[:150]}"
            )
        if response.status_code < 300 and method == "POST":
            if path in PUBLIC_POSTS:
                self.served_public += 1
            else:
                self.served_creates += 1
        return response

    async def rows(self) -> int:
        admin = self.stack.admin
        customers = await self.stack.client.get("/admin/v1/customers", headers=admin)
        keys = await self.stack.client.get("/admin/v1/keys", headers=admin)
        return len(customers.json()["data"]) + len(keys.json()["data"])

    async def check(self, rows_before: int, upstream_before: int) -> None:
        assert self.problems == [], "\n".join(self.problems[:20])
        assert len(self.upstream.requests) - upstream_before == self.served_public
        assert await self.rows() - rows_before == self.served_creates


def _problems(response: httpx.Response) -> list[str]:
    status = response.status_code
    if status >= 500:
        return [f"{status}: {response.text[:200]}"]
    if b"Traceback" in response.content:
        return ["a traceback in the response"]
    if status < 400:
        return []
    try:
        body = response.json()
    except ValueError:
        return [f"{status} that is not JSON: {response.text[:100]}"]
    found = [e.message for e in spec_errors(body, "ErrorResponse")]
    if not found and not body["error"]["message"]:
        found = ["an empty message"]
    return [f"{status} not OpenAI-shaped: {found}"] if found else []


@pytest.fixture
async def ledger(stack: Stack, upstream: FakeUpstream) -> AsyncIterator[Ledger]:
    book = Ledger(stack, upstream)
    rows, calls = await book.rows(), len(upstream.requests)
    yield book
    await book.check(rows, calls)


async def test_raw_bodies(ledger: Ledger) -> None:
    for label, raw in corpus.RAW_BODIES.items():
        for path in PUBLIC_POSTS + ADMIN_POSTS:
            await ledger.send(label, "POST", path, content=raw)


@pytest.mark.parametrize("path", PUBLIC_POSTS + ADMIN_POSTS)
async def test_wrong_types_and_hostile_strings_in_every_field(ledger: Ledger, path: str) -> None:
    for label, raw in corpus.mutated_bodies(path).items():
        await ledger.send(label, "POST", path, content=raw)


async def test_hostile_headers(ledger: Ledger) -> None:
    for label, headers in corpus.HOSTILE_HEADERS.items():
        for path in PUBLIC_POSTS + ADMIN_POSTS:
            body = corpus.VALID[path]
            await ledger.send(label, "POST", path, json=body, headers=headers)
        for path in GETS:
            await ledger.send(label, "GET", path, headers=headers)


async def test_hostile_path_segments_and_queries(ledger: Ledger) -> None:
    for segment in corpus.HOSTILE_SEGMENTS:
        await ledger.send(segment, "GET", f"/v1/models/{segment}")
        await ledger.send(segment, "GET", f"/admin/v1/customers/{segment}")
        await ledger.send(segment, "DELETE", f"/admin/v1/keys/{segment}")
        await ledger.send(segment, "GET", f"/admin/v1/keys?customer_id={segment}")
        await ledger.send(segment, "POST", f"/v1/{segment}", json={})


async def test_wrong_methods(ledger: Ledger) -> None:
    for method in corpus.WRONG_METHODS:
        for path in PUBLIC_POSTS + ADMIN_POSTS + GETS:
            await ledger.send(method, method, path, json={})
    for path in PUBLIC_POSTS:
        await ledger.send("GET on a POST route", "GET", path)


async def test_the_files_routes(ledger: Ledger) -> None:
    """Refused uploads store nothing: the customer has no file at the end."""
    multipart = {"content-type": corpus.FILES_CONTENT_TYPE}
    for label, raw in corpus.HOSTILE_UPLOADS.items():
        response = await ledger.send(label, "POST", "/v1/files", content=raw, headers=multipart)
        assert response.status_code == 400, (label, response.text)
    for label, raw in corpus.RAW_BODIES.items():
        await ledger.send(label, "POST", "/v1/files", content=raw)
    for label, headers in corpus.HOSTILE_HEADERS.items():
        await ledger.send(label, "POST", "/v1/files", content=b"x", headers=headers)
        await ledger.send(label, "GET", "/v1/files", headers=headers)
    for segment in corpus.HOSTILE_SEGMENTS:
        for method in ("GET", "DELETE"):
            response = await ledger.send(segment, method, f"/v1/files/{segment}")
            assert response.status_code == 404, (segment, response.text)
        await ledger.send(segment, "GET", f"/v1/files/{segment}/content")
        for query in ("after", "purpose", "limit", "order"):
            await ledger.send(segment, "GET", f"/v1/files?{query}={segment}")
    listed = await ledger.stack.client.get("/v1/files")
    assert listed.status_code == 200 and listed.json()["data"] == []
