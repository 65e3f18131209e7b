"""Jobs of the media task types through a real `twelve serve` against the OpenAI-compatible fake:
speech (its audio becomes the job's result file), transcription of a file uploaded first (a job
cannot upload: it names the file), and image generation; billed per unit like the requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.jobs_stack import FAST_JOBS, wait_ended
from tests.e2e.server import TwelveServer
from tests.e2e.stack import server_env
from tests.e2e.test_modalities_upstream import CONFIG
from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_openai_media import wav


@pytest.fixture(scope="module")
def media_jobs(
    upstream: FakeUpstream, admin_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("media-jobs")
    config = root / "twelve.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    env = (
        server_env(config, root / "data")
        | FAST_JOBS
        | {
            "TWELVE_ADMIN_KEY": admin_key,
            "E2E_UPSTREAM_URL": f"{upstream.base_url}/v1",
        }
    )
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{server.base_url}/admin/v1", headers=admin) as c:
        c.post("/customers", json={"name": "media-jobs", "credits": 5.0})
        key = c.post("/keys", json={"customer_id": "media-jobs"}).json()["key"]
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}) as c:
        yield c
    server.stop()


def job(client: httpx.Client, task_type: str, parameters: dict[str, Any]) -> dict[str, Any]:
    submitted = client.post("/v1/jobs", json={"task_type": task_type, "parameters": parameters})
    assert submitted.status_code == 202, submitted.text
    return wait_ended(client, submitted.json()["id"])


def test_a_speech_job_leaves_its_audio_as_the_result_file(media_jobs: httpx.Client) -> None:
    ended = job(media_jobs, "speech", {"model": "tts", "input": "hello there", "voice": "alloy",
                                       "response_format": "wav"})  # fmt: skip
    assert ended["status"] == "succeeded", ended
    assert ended["result"]["content_type"].startswith("audio/")
    audio = media_jobs.get(f"/v1/files/{ended['result_file_id']}/content")
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert ended["cost_micros"] == len("hello there") * 15


def test_a_transcription_job_reads_an_uploaded_file(media_jobs: httpx.Client) -> None:
    audio = wav(2.0)
    uploaded = media_jobs.post(
        "/v1/files", files={"file": ("memo.wav", audio, "audio/wav")}, data={"purpose": "user_data"}
    ).json()
    ended = job(media_jobs, "transcription", {"model": "whisper", "file_id": uploaded["id"]})
    assert ended["status"] == "succeeded", ended
    assert ended["result"]["text"] == f"heard {len(audio)} bytes of memo.wav"
    refused = media_jobs.post(
        "/v1/jobs", json={"task_type": "transcription", "parameters": {"model": "whisper"}}
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "parameters.file_id"
    gone = {"task_type": "transcription", "parameters": {"model": "whisper", "file_id": "file-x"}}
    missing = media_jobs.post("/v1/jobs", json=gone)
    assert missing.status_code == 400


def test_an_image_generation_job(media_jobs: httpx.Client) -> None:
    ended = job(media_jobs, "image_generation", {"model": "dall-e", "prompt": "a cat", "n": 2})
    assert ended["status"] == "succeeded", ended
    assert len(ended["result"]["data"]) == 2
    assert ended["cost_micros"] == 2 * 40_000
