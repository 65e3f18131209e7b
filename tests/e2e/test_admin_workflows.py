"""The admin view of workflow runs through a real `twelve serve`: two customers' runs, every one
listed for the admin key (newest first, paged, filtered by status, customer and workflow name),
one run shown with every step and the customer and key it ran under; a customer's key is refused
on these routes, an unknown run is a 404 and a bad query a 400."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.jobs_stack import jobs_config, jobs_env, new_key
from tests.e2e.server import TwelveServer
from tests.e2e.test_workflows import chat, run
from tests.fakes.upstream import FakeUpstream

WORKFLOWS = [
    {"name": "greet", "steps": [
        {"name": "hello", "capability": "chat", "model": "echo",
         "input": chat("hi ${request.who}")},
        {"name": "bye", "capability": "chat", "model": "echo", "input": chat("bye")},
    ]},
    {"name": "doomed", "steps": [
        {"name": "only", "capability": "chat", "model": "rejecting", "input": chat("no")},
    ]},
]  # fmt: skip


@pytest.fixture(scope="module")
def twelve(
    upstream: FakeUpstream, admin_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwelveServer]:
    root = tmp_path_factory.mktemp("admin-workflows")
    config = jobs_config(root / "twelve.yaml", upstream.base_url)
    with config.open("a", encoding="utf-8") as f:
        f.write(yaml.safe_dump({"workflows": WORKFLOWS}))
    server = TwelveServer(jobs_env(config, root / "data", admin_key), root / "stderr.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(twelve: TwelveServer, admin_key: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{twelve.base_url}/admin/v1", headers=headers) as client:
        yield client


class Customer:
    def __init__(self, twelve: TwelveServer, admin: httpx.Client, name: str) -> None:
        self.key = new_key(admin, name)
        self.id = admin.get(f"/customers/{name}").json()["id"]
        self.key_id = admin.get("/keys", params={"customer_id": self.id}).json()["data"][0]["id"]
        headers = {"Authorization": f"Bearer {self.key}"}
        self.client = httpx.Client(base_url=twelve.base_url, headers=headers)


@pytest.fixture(scope="module")
def customers(twelve: TwelveServer, admin: httpx.Client) -> Iterator[tuple[Customer, Customer]]:
    acme, globex = (
        Customer(twelve, admin, "wfadmin-acme"),
        Customer(twelve, admin, "wfadmin-globex"),
    )
    yield acme, globex
    acme.client.close()
    globex.client.close()


@pytest.fixture(scope="module")
def runs(customers: tuple[Customer, Customer]) -> dict[str, dict[str, Any]]:
    """Three ended runs, oldest first: acme's greet and doomed, then globex's greet. A run's
    `created_at` is in whole seconds (runs of one second are ordered by id), so each starts in a
    second of its own."""
    acme, globex = customers
    started: dict[str, dict[str, Any]] = {}
    for label, client, name, body in [
        ("acme_greet", acme.client, "greet", {"who": "acme"}),
        ("acme_doomed", acme.client, "doomed", {}),
        ("globex_greet", globex.client, "greet", {"who": "globex"}),
    ]:
        time.sleep(1.02 - time.time() % 1)
        started[label] = run(client, name, body)
    return started


def ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()["data"]]


def test_the_admin_sees_every_customers_runs_newest_first_and_filters_them(
    admin: httpx.Client, customers: tuple[Customer, Customer], runs: dict[str, dict[str, Any]]
) -> None:
    acme, globex = customers
    a, d, g = (runs[k]["id"] for k in ("acme_greet", "acme_doomed", "globex_greet"))
    assert runs["acme_doomed"]["status"] == "failed" and runs["acme_greet"]["status"] == "succeeded"
    listed = admin.get("/workflows")
    assert listed.json()["object"] == "list" and listed.json()["has_more"] is False
    assert ids(listed) == [g, d, a]
    owners = {r["id"]: (r["customer_id"], r["key_id"]) for r in listed.json()["data"]}
    assert owners == {a: (acme.id, acme.key_id), d: (acme.id, acme.key_id),
                      g: (globex.id, globex.key_id)}  # fmt: skip

    assert ids(admin.get("/workflows", params={"status": "failed"})) == [d]
    assert ids(admin.get("/workflows", params={"status": "succeeded"})) == [g, a]
    assert ids(admin.get("/workflows", params={"customer_id": globex.id})) == [g]
    assert ids(admin.get("/workflows", params={"customer_id": "wfadmin-acme"})) == [d, a]
    assert ids(admin.get("/workflows", params={"name": "greet"})) == [g, a]
    both = {"name": "greet", "customer_id": acme.id, "status": "succeeded"}
    assert ids(admin.get("/workflows", params=both)) == [a]
    assert ids(admin.get("/workflows", params={"name": "no_such"})) == []

    first = admin.get("/workflows", params={"limit": 2})
    assert ids(first) == [g, d] and first.json()["has_more"] is True
    rest = admin.get("/workflows", params={"limit": 2, "after": d})
    assert ids(rest) == [a] and rest.json()["has_more"] is False

    # Each customer still sees only its own.
    assert ids(acme.client.get("/v1/workflows")) == [d, a]
    assert ids(globex.client.get("/v1/workflows")) == [g]


def test_the_admin_inspects_one_run_with_every_step_and_its_owner(
    admin: httpx.Client, customers: tuple[Customer, Customer], runs: dict[str, dict[str, Any]]
) -> None:
    acme, globex = customers
    shown = admin.get(f"/workflows/{runs['globex_greet']['id']}")
    assert shown.status_code == 200, shown.text
    found = shown.json()
    assert (found["customer_id"], found["key_id"]) == (globex.id, globex.key_id)
    assert found["name"] == "greet" and found["status"] == "succeeded"
    assert [(s["name"], s["status"], s["model"]) for s in found["steps"]] == [
        ("hello", "succeeded", "echo"), ("bye", "succeeded", "echo"),
    ]  # fmt: skip
    answer = found["steps"][0]["output"]["choices"][0]["message"]["content"]
    assert answer == "echo: hi globex"
    # What the customer sees, plus who it belongs to.
    assert {k: v for k, v in found.items() if k not in ("customer_id", "key_id")} == runs[
        "globex_greet"
    ]
    failed = admin.get(f"/workflows/{runs['acme_doomed']['id']}").json()
    assert failed["customer_id"] == acme.id and failed["steps"][0]["status"] == "failed"
    assert failed["error"]["status"] == 400


def test_a_customer_key_is_refused_on_the_admin_routes(
    twelve: TwelveServer, customers: tuple[Customer, Customer], runs: dict[str, dict[str, Any]]
) -> None:
    acme, _ = customers
    own = runs["acme_greet"]["id"]
    for path in ["/admin/v1/workflows", f"/admin/v1/workflows/{own}"]:
        refused = acme.client.get(path)
        assert refused.status_code in (401, 403), refused.text
        assert refused.json()["error"]["code"] == "invalid_admin_key"
        assert acme.key not in refused.text
    with httpx.Client(base_url=twelve.base_url) as anonymous:
        assert anonymous.get("/admin/v1/workflows").status_code == 401


@pytest.mark.parametrize(
    ("path", "params", "status", "param"),
    [
        ("/workflows/wf_000000000000000000000000", {}, 404, "run_id"),
        ("/workflows/" + "x" * 100, {}, 404, "run_id"),
        ("/workflows", {"limit": 0}, 400, "query.limit"),
        ("/workflows", {"limit": 101}, 400, "query.limit"),
        ("/workflows", {"limit": "many"}, 400, "query.limit"),
        ("/workflows", {"status": "dead"}, 400, "query.status"),
        ("/workflows", {"status": "SUCCEEDED"}, 400, "query.status"),
        ("/workflows", {"customer_id": "wfadmin-nobody"}, 404, "customer_id"),
    ],
)
def test_bad_queries_and_unknown_runs_are_openai_shaped_errors(
    admin: httpx.Client, path: str, params: dict[str, Any], status: int, param: str
) -> None:
    answer = admin.get(path, params=params)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["param"] == param and error["message"] and error["type"]
