"""The bad-input corpus against the image, audio and task routes (`tests/app/corpus/media.py`
and the generic one), in process, with a real key and models on a fake upstream on 127.0.0.1.

Every answer is a served 2xx or an OpenAI-shaped 4xx, never a 5xx or a traceback; bad media gets
the 4xx the corpus names; refused requests reach no upstream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.app.corpus import media
from tests.app.corpus import requests as corpus
from tests.app.corpus.stack import Stack, serving
from tests.app.test_bad_input_corpus import _problems
from tests.fakes.upstream import FakeUpstream

ROUTES = list(media.VALID)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def stack(
    upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    monkeypatch.setenv("TWELVE_AUDIO_MAX_BYTES", str(2_000_000))
    config = media.CONFIG % {"url": f"{upstream.base_url}/v1"}
    async with serving(upstream, tmp_path, config=config, credits=10) as running:
        yield running


async def send(stack: Stack, problems: list[str], label: str, path: str, **kw: object) -> int:
    response: httpx.Response = await stack.client.post(path, **kw)  # type: ignore[arg-type]
    problems.extend(f"{label} {path}: {p}" for p in _problems(response))
    return response.status_code


async def test_valid_bodies_are_served(stack: Stack) -> None:
    for path, body in media.VALID.items():
        response = await stack.client.post(path, json=body)
        assert response.status_code == 200, (path, response.text)


async def test_bad_media_gets_its_clear_4xx_and_reaches_no_upstream(
    stack: Stack, upstream: FakeUpstream
) -> None:
    before, problems = len(upstream.requests), []
    for label, (path, body, status) in media.BAD_MEDIA.items():
        got = await send(stack, problems, label, path, json=body)
        assert got == status, (label, got)
    headers = {"content-type": media.UPLOAD_CONTENT_TYPE}
    for label, (raw, status) in media.BAD_UPLOADS.items():
        got = await send(stack, problems, label, "/v1/audio/transcriptions", content=raw,
                         headers=headers)  # fmt: skip
        assert got == status, (label, got)
    assert problems == []
    assert len(upstream.requests) == before


@pytest.mark.parametrize("path", ROUTES)
async def test_wrong_types_and_hostile_strings_in_every_field(
    stack: Stack, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    problems: list[str] = []
    monkeypatch.setitem(corpus.VALID, path, media.VALID[path])
    for label, raw in corpus.mutated_bodies(path).items():
        await send(stack, problems, label, path, content=raw)
    assert problems == [], "\n".join(problems[:20])


async def test_raw_bodies_and_hostile_uploads(stack: Stack) -> None:
    problems: list[str] = []
    for label, raw in corpus.RAW_BODIES.items():
        for path in [*ROUTES, "/v1/audio/transcriptions"]:
            await send(stack, problems, label, path, content=raw)
    headers = {"content-type": corpus.FILES_CONTENT_TYPE}
    for label, raw in corpus.HOSTILE_UPLOADS.items():
        await send(stack, problems, label, "/v1/audio/transcriptions", content=raw,
                   headers=headers)  # fmt: skip
    assert problems == [], "\n".join(problems[:20])
