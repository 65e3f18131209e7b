"""The built-in document_analysis workflow end to end, offline, on the local models: a rendered
test document uploaded with the Files API, read by OCR, summarised, classified from a fixed set,
stored as a file and announced by a signed webhook — through `twelve serve` with a Twelve key and
no config file, started as a workflow and as a job."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw, ImageFont
from standardwebhooks import Webhook

from tests.e2e.jobs_stack import FAST_JOBS, Receiver, new_key, wait_ended
from tests.e2e.server import TwelveServer
from tests.e2e.sidecar_process import running_sidecar

LINES = [
    "INVOICE 2041 from Acme Tools Ltd.",
    "Amount due: 120 EUR for twelve hammers.",
    "Payment is due within thirty days.",
]
LABELS = {
    "invoice": "a bill asking for payment of an amount due",
    "recipe": "cooking instructions with ingredients",
    "poem": "verses of poetry",
}


def document() -> bytes:
    font = ImageFont.load_default(size=32)
    image = Image.new("RGB", (1100, 80 + 48 * len(LINES)), "white")
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(LINES):
        draw.text((40, 40 + 48 * row), line, font=font, fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def local(admin_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwelveServer]:
    root = tmp_path_factory.mktemp("document-analysis")
    with running_sidecar(root / "sidecar.log") as sidecar:
        env = FAST_JOBS | {
            "TWELVE_DATA_DIR": str(root / "data"),
            "TWELVE_ADMIN_KEY": admin_key,
            "TWELVE_SIDECAR": "auto",
            "TWELVE_SIDECAR_URL": sidecar,  # no config file: the local models are the defaults
        }
        server = TwelveServer(env, root / "stderr.log")
        server.start()
        yield server
        server.stop()


@pytest.fixture(scope="module")
def client(local: TwelveServer, admin_key: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{local.base_url}/admin/v1", headers=headers) as admin:
        key = new_key(admin, "documents")
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=local.base_url, headers=auth, timeout=60) as c:
        yield c


def upload(client: httpx.Client) -> str:
    files = {"file": ("invoice.png", document(), "image/png")}
    uploaded = client.post("/v1/files", files=files, data={"purpose": "user_data"})
    assert uploaded.status_code == 200, uploaded.text
    return str(uploaded.json()["id"])


def ended_run(client: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found: dict[str, Any] = client.get(f"/v1/workflows/{run_id}").json()
        if found["status"] not in ("queued", "running"):
            return found
        time.sleep(0.1)
    raise AssertionError(f"{run_id} did not end: {found}")


def test_a_document_is_read_summarised_classified_stored_and_announced(
    client: httpx.Client, admin_key: str, local: TwelveServer
) -> None:
    with Receiver() as receiver:
        body = {"file_id": upload(client), "labels": LABELS, "callback_url": receiver.url}
        started = client.post("/v1/workflows/document_analysis", json=body)
        assert started.status_code == 202, started.text
        run = ended_run(client, started.json()["id"])
        deadline = time.monotonic() + 15
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        headers, payload = receiver.received[-1]
    assert run["status"] == "succeeded" and not run["partial"], run
    steps = {s["name"]: s for s in run["steps"]}
    assert all(s["status"] == "succeeded" for s in steps.values()), steps
    text = steps["extract"]["output"]["text"]
    assert [line.strip() for line in text.strip().splitlines() if line.strip()] == LINES
    assert steps["extract"]["model"] == "local-ocr"
    summary = steps["summarize"]["output"]["summary"]
    assert summary and set(summary.split()) <= set(" ".join(LINES).split())
    assert steps["classify"]["output"]["label"] == "invoice"
    stored = client.get(f"/v1/files/{steps['store']['output']['file_id']}/content").json()
    assert stored["label"] == "invoice" and stored["summary"] == summary
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{local.base_url}/admin/v1", headers=admin) as c:
        secret = c.get("/customers/documents/webhook-secret").json()["secret"]
    announced = Webhook(secret).verify(payload, headers)
    assert announced["type"] == "workflow.document_analysis"
    assert announced["data"]["workflow_id"] == run["id"]


def test_document_analysis_as_a_job(client: httpx.Client) -> None:
    submitted = client.post(
        "/v1/jobs",
        json={"task_type": "document_analysis", "parameters": {"file_id": upload(client)}},
    )
    assert submitted.status_code == 202, submitted.text
    ended = wait_ended(client, submitted.json()["id"], timeout=120)
    assert ended["status"] == "succeeded", ended
    assert ended["result"]["object"] == "workflow" and ended["result"]["status"] == "succeeded"
    labels = {"invoice", "contract", "letter", "report", "receipt", "other"}
    classify = next(s for s in ended["result"]["steps"] if s["name"] == "classify")
    assert classify["output"]["label"] in labels  # the default label set
