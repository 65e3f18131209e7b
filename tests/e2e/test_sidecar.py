"""The local sidecar behind the gateway: `twelve sidecar` as its own process, reached as the
`local` provider by `twelve serve`, called with the official `openai` SDK and a Twelve key; the
usage is metered like any upstream's."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from openai import OpenAI

from tests.e2e.server import TwelveServer, free_port
from tests.e2e.sidecar_process import running_sidecar, wait_healthy


@pytest.fixture(scope="module")
def sidecar_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_sidecar(tmp_path_factory.mktemp("sidecar") / "sidecar.log") as url:
        yield url


@pytest.fixture(scope="module")
def gateway(
    sidecar_url: str, admin_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwelveServer]:
    root = tmp_path_factory.mktemp("local")
    config = root / "twelve.yaml"
    config.write_text(
        "models:\n"
        "  - name: local-embed\n"
        "    capabilities: [embeddings]\n"
        "    deployments:\n"
        "      - provider: local\n"
        f"        base_url: {sidecar_url}/v1\n"
        "        model: local-embed\n"
        "        free: true\n"
    )
    env = {
        "TWELVE_CONFIG": str(config),
        "TWELVE_DATA_DIR": str(root / "data"),
        "TWELVE_ADMIN_KEY": admin_key,
    }
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    yield server
    server.stop()


def test_local_embeddings_through_the_gateway_with_the_openai_sdk(
    gateway: TwelveServer, admin_key: str, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=gateway.base_url, headers=headers, timeout=30) as admin:
        admin.post("/admin/v1/customers", json={"name": "offline"})
        key = admin.post("/admin/v1/keys", json={"customer_id": "offline"}).json()["key"]
    with OpenAI(api_key=key, base_url=f"{gateway.base_url}/v1", max_retries=0) as client:
        answer = client.embeddings.with_raw_response.create(
            model="local-embed",
            input=["A man is playing a guitar.", "Someone strums a guitar.", "Rates rose."],
        )
        parsed = answer.parse()
    assert answer.headers["x-twelve-provider"] == "local"
    vectors = np.array([row.embedding for row in parsed.data])
    assert vectors.shape == (3, 384)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.3
    assert parsed.usage.prompt_tokens > 0
    usage = httpx.get(
        f"{gateway.base_url}/v1/usage", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    deadline = time.monotonic() + 10
    while usage.json()["data"] == [] and time.monotonic() < deadline:
        time.sleep(0.2)
        usage = httpx.get(
            f"{gateway.base_url}/v1/usage", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
    [day] = usage.json()["data"]
    assert day["requests"] == 1 and day["input_tokens"] == parsed.usage.prompt_tokens


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_twelve_serve_runs_the_sidecar_and_lists_its_models_with_no_config(
    admin_key: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        "TWELVE_DATA_DIR": str(tmp_path / "data"),
        "TWELVE_ADMIN_KEY": admin_key,
        "TWELVE_SIDECAR": "auto",
        "TWELVE_SIDECAR_PORT": str(port),
    }
    server = TwelveServer(env, tmp_path / "stderr.log")
    server.start()
    sidecar = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(sidecar)
        assert server._process is not None
        [child] = children(server._process.pid)
        headers = {"Authorization": f"Bearer {admin_key}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as admin:
            admin.post("/admin/v1/customers", json={"name": "fresh"})
            key = admin.post("/admin/v1/keys", json={"customer_id": "fresh"}).json()["key"]
        with OpenAI(api_key=key, base_url=f"{server.base_url}/v1", max_retries=0) as client:
            assert "local-embed" in {m.id for m in client.models.list()}
            vector = client.embeddings.create(model="local-embed", input="hello").data[0]
            assert len(vector.embedding) == 384

        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            now = children(server._process.pid)
            if now and now != [child]:
                break
            assert time.monotonic() < deadline, "the sidecar was not started again"
            time.sleep(0.1)
        wait_healthy(sidecar)
        [again] = now
    finally:
        server.stop()
    assert (
        not Path(f"/proc/{again}").exists()
        or "zombie" in Path(f"/proc/{again}/status").read_text().lower()
    )
