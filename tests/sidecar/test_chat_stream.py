"""`local-chat` streamed over a real `twelve sidecar` process, read with the official `openai` SDK:
chat and text completions arrive as chunks ending in a usage chunk when asked, and a client that
hangs up mid-stream frees the model at once instead of leaving it generating."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from tests.e2e.server import TWELVE, clean_env, free_port
from tests.sidecar.test_chat import QUESTION, need_chat


@pytest.fixture(scope="module")
def sidecar_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    need_chat()
    port = free_port()
    log = tmp_path_factory.mktemp("sidecar") / "sidecar.log"
    env = clean_env({"TWELVE_SIDECAR_CHAT_MAX_TOKENS": "2000", "TWELVE_SIDECAR_PRELOAD": "1"})
    with log.open("ab") as out:
        process = subprocess.Popen(
            [TWELVE, "sidecar", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


@pytest.fixture
def client(sidecar_url: str) -> Iterator[OpenAI]:
    with OpenAI(api_key="unused", base_url=f"{sidecar_url}/v1", max_retries=0) as sdk:
        yield sdk


def test_a_chat_answer_streams_with_the_openai_sdk(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="local-chat",
        messages=QUESTION,  # type: ignore[arg-type]
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Paris" in text
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 3
    finishing = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishing[-1] == "stop" and set(finishing[:-1]) == {None}
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_a_text_completion_streams_and_answers_whole(client: OpenAI) -> None:
    whole = client.completions.create(
        model="local-chat", prompt="The capital of France is", max_tokens=4, temperature=0
    )
    streamed = client.completions.create(
        model="local-chat", prompt="The capital of France is", max_tokens=4, temperature=0,
        stream=True,
    )  # fmt: skip
    text = "".join(c.choices[0].text for c in streamed)
    assert text == whole.choices[0].text and "Paris" in text
    assert whole.usage is not None and whole.usage.completion_tokens == 4


def test_a_client_that_hangs_up_frees_the_model(client: OpenAI, sidecar_url: str) -> None:
    # Counting goes on for the whole 2000 tokens (a minute or more here) unless stopped.
    stream = client.completions.create(
        model="local-chat", prompt="1, 2, 3, 4, 5, 6,", max_tokens=2000, temperature=0,
        stream=True,
    )  # fmt: skip
    for seen, _chunk in enumerate(stream):
        if seen == 3:
            break
    stream.close()
    started = time.monotonic()
    after = client.completions.create(model="local-chat", prompt="Hello", max_tokens=2)
    assert time.monotonic() - started < 10
    assert after.choices[0].text
    metrics = httpx.get(f"{sidecar_url}/metrics", timeout=10).text
    assert 'twelve_sidecar_inference_seconds_count{model="local-chat"}' in metrics
