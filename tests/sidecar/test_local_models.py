"""The sidecar's models do real work: embeddings of paraphrases are closer than unrelated ones,
classification picks the right label on a fixed set, the summary keeps the central sentences; and
its API bounds what clients send."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest

from twelve.sidecar.app import create_app
from twelve.sidecar.settings import SidecarSettings


@pytest.fixture
async def sidecar() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SidecarSettings(max_inputs=8, max_input_chars=5000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sidecar", timeout=60
        ) as client,
    ):
        yield client


async def embed(client: httpx.AsyncClient, texts: list[str]) -> np.ndarray:
    answer = await client.post("/v1/embeddings", json={"model": "local-embed", "input": texts})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["usage"]["prompt_tokens"] > 0
    return np.array([row["embedding"] for row in body["data"]])


async def test_paraphrases_are_closer_than_unrelated_sentences(
    sidecar: httpx.AsyncClient,
) -> None:
    vectors = await embed(
        sidecar,
        [
            "A man is playing a guitar.",
            "Someone is strumming a guitar.",
            "The central bank raised interest rates.",
            "How do I reset my password?",
            "I forgot my login credentials and need a new password.",
        ],
    )
    assert vectors.shape == (5, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.6 > similarity[0, 2]
    assert similarity[3, 4] > similarity[3, 2] + 0.3


async def test_base64_vectors_are_the_same_floats(sidecar: httpx.AsyncClient) -> None:
    floats = await embed(sidecar, ["base64 please"])
    answer = await sidecar.post(
        "/v1/embeddings",
        json={"model": "local-embed", "input": "base64 please", "encoding_format": "base64"},
    )
    raw = base64.b64decode(answer.json()["data"][0]["embedding"])
    assert np.allclose(np.frombuffer(raw, dtype=np.float32), floats[0], atol=1e-6)


CASES = [
    ("The striker scored twice and the team won the cup final.", "sports"),
    ("Quarterly revenue rose 8% and the shares hit a record high.", "finance"),
    ("Simmer the onions in butter, then add the garlic and the stock.", "cooking"),
    ("The patient was prescribed antibiotics for the infection.", "health"),
    ("Tottenham lost at home in the league on Saturday.", "sports"),
    ("Bond yields fell after the central bank held rates.", "finance"),
    ("Bake the bread for forty minutes until golden.", "cooking"),
    ("Regular exercise lowers the risk of heart disease.", "health"),
]
LABELS = {
    "sports": "sports, games and athletes",
    "finance": "finance, markets and the economy",
    "cooking": "cooking, recipes and food",
    "health": "health, medicine and illness",
}


async def test_classification_picks_the_right_label_on_a_fixed_set(
    sidecar: httpx.AsyncClient,
) -> None:
    right = 0
    for text, expected in CASES:
        answer = await sidecar.post("/v1/classifications", json={"input": text, "labels": LABELS})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert abs(sum(s["score"] for s in body["scores"]) - 1) < 1e-3
        right += body["label"] == expected
    assert right == len(CASES)


async def test_the_summary_keeps_the_central_sentences_in_order(
    sidecar: httpx.AsyncClient,
) -> None:
    text = (
        "The city council approved the new budget on Tuesday. "
        "The budget raises spending on public transport by ten percent. "
        "Council members said better buses were the main goal of the budget. "
        "One member brought a dog to the meeting. "
        "The transport budget will fund new bus routes and longer hours. "
        "Lunch was served at noon."
    )
    answer = await sidecar.post("/v1/summaries", json={"input": text, "sentences": 2})
    assert answer.status_code == 200, answer.text
    picked = answer.json()["sentences"]
    assert len(picked) == 2
    assert all("budget" in s for s in picked)
    assert picked == sorted(picked, key=text.index)


@pytest.mark.parametrize(
    ("path", "body", "status", "param"),
    [
        ("/v1/embeddings", {"model": "local-embed", "input": ""}, 400, "input"),
        ("/v1/embeddings", {"model": "local-embed", "input": []}, 400, "input"),
        ("/v1/embeddings", {"model": "local-embed", "input": ["x"] * 9}, 400, "input"),
        ("/v1/embeddings", {"model": "local-embed", "input": "x" * 5001}, 400, "input"),
        ("/v1/embeddings", {"model": "gpt-4o", "input": "x"}, 404, "model"),
        ("/v1/embeddings", {"model": "local-embed", "input": "x", "dimensions": 3}, 400, None),
        ("/v1/embeddings", {"input": "x"}, 400, "model"),
        ("/v1/classifications", {"input": "x", "labels": ["only"]}, 400, "labels"),
        ("/v1/summaries", {"input": "x", "sentences": 0}, 400, "sentences"),
    ],
)
async def test_bad_input_is_a_clear_error(
    sidecar: httpx.AsyncClient, path: str, body: dict[str, object], status: int, param: str | None
) -> None:
    answer = await sidecar.post(path, json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"]
    if param is not None:
        assert error["param"] == param


async def test_a_body_over_the_limit_is_refused(sidecar: httpx.AsyncClient) -> None:
    answer = await sidecar.post(
        "/v1/embeddings", content=b"x" * (9 * 1024 * 1024), headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 413


async def test_a_busy_model_answers_503_with_retry_after_and_health_stays_up() -> None:
    app = create_app(SidecarSettings(concurrency=1, max_waiting=1))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://sidecar", timeout=60) as client,
    ):
        texts = ["a fairly long sentence about nothing in particular " * 20] * 8
        body = {"model": "local-embed", "input": texts}
        await client.post("/v1/embeddings", json={"model": "local-embed", "input": "warm"})
        answers = await asyncio.gather(
            *(client.post("/v1/embeddings", json=body) for _ in range(6)),
            client.get("/healthz"),
        )
    statuses = [a.status_code for a in answers[:-1]]
    assert answers[-1].status_code == 200
    assert statuses.count(200) >= 2 and 503 in statuses
    refused = next(a for a in answers if a.status_code == 503)
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "model_overloaded"


async def test_models_and_metrics_are_listed(sidecar: httpx.AsyncClient) -> None:
    await embed(sidecar, ["count me"])
    listed = (await sidecar.get("/v1/models")).json()
    assert {m["id"] for m in listed["data"]} >= {"local-embed", "local-classify", "local-summarize"}
    metrics = (await sidecar.get("/metrics")).text
    assert 'twelve_sidecar_inference_seconds_count{model="local-embed"}' in metrics
