"""The bad-input corpus (`tests/app/corpus/requests.py`) against the admin routes that change one
key or customer: PATCH a key, rotate it, PATCH a customer, and page the key list.

Every answer is a served 2xx or an OpenAI-shaped 4xx, and a refused request changes nothing: the
key or customer reads back exactly as before it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.corpus import requests as corpus
from tests.app.corpus.stack import Stack, serving
from tests.app.test_bad_input_corpus import _problems
from tests.fakes.upstream import FakeUpstream

ROUTES = {
    "PATCH /admin/v1/keys/{key_id}": "key",
    "POST /admin/v1/keys/{key_id}/rotate": "key",
    "PATCH /admin/v1/customers/{customer}": "customer",
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def stack(upstream: FakeUpstream, tmp_path: Path) -> AsyncIterator[Stack]:
    async with serving(upstream, tmp_path) as running:
        yield running


class Target:
    """One key or customer the requests aim at, read back after every refusal."""

    def __init__(self, stack: Stack, kind: str, ident: str) -> None:
        self.stack, self.kind, self.ident = stack, kind, ident
        self.problems: list[str] = []

    @property
    def path(self) -> str:
        return f"/admin/v1/{'keys' if self.kind == 'key' else 'customers'}/{self.ident}"

    async def state(self) -> Any:
        shown = await self.stack.client.get(self.path, headers=self.stack.admin)
        assert shown.status_code == 200, shown.text
        return shown.json()

    async def send(self, label: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        before = await self.state()
        headers = self.stack.admin | kwargs.pop("headers", {})
        response = await self.stack.client.request(method, path, headers=headers, **kwargs)
        self.problems += [f"{label} {method} {path[:80]}: {p}" for p in _problems(response)]
        if response.status_code >= 400 and await self.state() != before:
            self.problems.append(f"{label} {method} {path[:80]}: refused, yet it changed")
        return response


async def target(stack: Stack, kind: str) -> Target:
    admin = stack.admin
    if kind == "key":
        made = await stack.client.post(
            "/admin/v1/keys", json={"customer_id": stack.customer_id, "rpm": 3}, headers=admin
        )
    else:
        made = await stack.client.post(
            "/admin/v1/customers", json={"name": "target"}, headers=admin
        )
    assert made.status_code == 201, made.text
    return Target(stack, kind, made.json()["id"])


@pytest.mark.parametrize("route", ROUTES)
async def test_raw_and_mutated_bodies_change_nothing_when_refused(stack: Stack, route: str) -> None:
    aim = await target(stack, ROUTES[route])
    method, template = route.split(" ")
    path = template.format(key_id=aim.ident, customer=aim.ident)
    for label, raw in {**corpus.RAW_BODIES, **corpus.mutated_bodies(route)}.items():
        await aim.send(label, method, path, content=raw)
    assert aim.problems == [], "\n".join(aim.problems[:20])


async def test_hostile_ids_and_list_queries(stack: Stack) -> None:
    aim = await target(stack, "key")
    for segment in corpus.HOSTILE_SEGMENTS:
        for route, body in corpus.VALID.items():
            if route in ROUTES:
                method, template = route.split(" ")
                path = template.format(key_id=segment, customer=segment)
                await aim.send(segment, method, path, json=body)
        await aim.send(segment, "GET", f"/admin/v1/keys/{segment}")
        for name in ("after", "limit", "customer_id"):
            await aim.send(segment, "GET", f"/admin/v1/keys?{name}={segment}")
    assert aim.problems == [], "\n".join(aim.problems[:20])


async def test_wrong_methods_on_one_key(stack: Stack) -> None:
    aim = await target(stack, "key")
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        await aim.send(method, method, f"{aim.path}/rotate", json={})
    await aim.send("PUT", "PUT", aim.path, json={})
    await aim.send("POST", "POST", aim.path, json={})
    assert aim.problems == [], "\n".join(aim.problems[:20])
