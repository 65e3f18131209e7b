"""`local-chat` does real work: SmolLM2 answers a simple question, text completions continue a
prompt, usage counts add up, and bad input is a clear 400 — in process, over the sidecar's ASGI
app. The streaming cases with the official SDK over a real server are in test_chat_stream.py.

Without the llama.cpp build (`make` builds it) these tests skip, saying so; on CI they fail."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from twelve.sidecar.app import create_app
from twelve.sidecar.chat_model import PACKAGES, gguf_path
from twelve.sidecar.missing import MissingModel
from twelve.sidecar.settings import SidecarSettings


def chat_missing() -> str | None:
    """Why local-chat cannot run here, or None when it can."""
    try:
        import llama_cpp  # noqa: F401

        gguf_path()
    except (ImportError, OSError, MissingModel):
        return f"local-chat is not installed: {PACKAGES} (`make setup` builds and installs them)"
    return None


def need_chat() -> None:
    missing = chat_missing()
    if missing is None:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI needs local-chat: {missing}", pytrace=False)
    pytest.skip(missing)


QUESTION = [
    {"role": "system", "content": "Answer in one short English sentence."},
    {"role": "user", "content": "What is the capital of France?"},
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sidecar() -> AsyncIterator[httpx.AsyncClient]:
    need_chat()
    app = create_app(SidecarSettings(chat_context=512, chat_max_tokens=64))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sidecar", timeout=120
        ) as client,
    ):
        yield client


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_the_chat_model_answers_a_simple_question(sidecar: httpx.AsyncClient) -> None:
    body = {"model": "local-chat", "messages": QUESTION, "temperature": 0, "seed": 7}
    answer = await sidecar.post("/v1/chat/completions", json=body)
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert reply["object"] == "chat.completion" and reply["id"].startswith("chatcmpl-")
    [choice] = reply["choices"]
    assert choice["message"]["role"] == "assistant"
    assert "Paris" in choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    usage = reply["usage"]
    assert usage["prompt_tokens"] > 10 and usage["completion_tokens"] >= 2
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_a_text_completion_continues_the_prompt_and_stops_at_max_tokens(
    sidecar: httpx.AsyncClient,
) -> None:
    body = {"model": "local-chat", "prompt": "The capital of France is", "max_tokens": 3,
            "temperature": 0}  # fmt: skip
    answer = await sidecar.post("/v1/completions", json=body)
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert reply["object"] == "text_completion"
    [choice] = reply["choices"]
    assert "Paris" in choice["text"]
    assert choice["finish_reason"] == "length"
    assert reply["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


async def test_a_stop_sequence_ends_the_answer(sidecar: httpx.AsyncClient) -> None:
    body = {"model": "local-chat", "prompt": "One, two, three, four,", "max_tokens": 20,
            "temperature": 0, "stop": [" six"]}  # fmt: skip
    reply = (await sidecar.post("/v1/completions", json=body)).json()
    assert "six" not in reply["choices"][0]["text"]
    assert reply["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("path", "body", "status", "param"),
    [
        ("/v1/chat/completions", {"model": "local-chat", "messages": []}, 400, "messages"),
        (
            "/v1/chat/completions",
            {"model": "local-chat", "messages": QUESTION, "max_tokens": 0},
            400,
            "max_tokens",
        ),
        (
            "/v1/chat/completions",
            {"model": "local-chat", "messages": QUESTION, "max_tokens": 65},
            400,
            "max_tokens",
        ),
        ("/v1/chat/completions", {"model": "local-chat", "messages": QUESTION, "n": 2}, 400, "n"),
        (
            "/v1/chat/completions",
            {"model": "local-chat", "messages": [{"role": "user", "content": "word " * 2000}]},
            400,
            "messages",
        ),
        ("/v1/chat/completions", {"model": "gpt-4o", "messages": QUESTION}, 404, "model"),
        ("/v1/completions", {"model": "local-chat", "prompt": ""}, 400, "prompt"),
        ("/v1/completions", {"model": "local-chat", "prompt": "word " * 2000}, 400, "prompt"),
        ("/v1/completions", {"model": "local-chat", "prompt": ["a", "b"]}, 400, "prompt"),
    ],
)
async def test_bad_input_is_a_clear_error(
    sidecar: httpx.AsyncClient, path: str, body: dict[str, object], status: int, param: str
) -> None:
    answer = await sidecar.post(path, json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"] and error["param"] == param


async def test_the_model_is_listed(sidecar: httpx.AsyncClient) -> None:
    listed = (await sidecar.get("/v1/models")).json()
    assert "local-chat" in {m["id"] for m in listed["data"]}
