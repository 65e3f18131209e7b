"""Images, audio and the sidecar's tasks through a real `twelve serve`, served by an upstream
that speaks OpenAI's wire format (the fake on 127.0.0.1), with the official `openai` SDK and a
Twelve key: multipart uploads and binary answers cross the generic port; per-image, per-second
and per-character prices are held and settled; outputs are stored as the caller's files; inputs
come as base64, a file id or a URL fetched under the SSRF guard; limits and breakers apply.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.e2e.server import TwelveServer
from tests.e2e.stack import UPSTREAM_KEY, server_env
from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_openai_media import png, wav
from tests.support.openai_spec import validate

AUDIO_MAX_BYTES = 200_000
PRICED = {"dall-e": 40_000, "whisper-per-second": 100, "tts-per-character": 15}


def _model(
    name: str, capabilities: str, provider: str, model: str, price: str, extra: str = ""
) -> str:
    return (
        f"  - name: {name}\n    capabilities: [{capabilities}]\n{extra}    deployments:\n"
        f"      - provider: {provider}\n        base_url: ${{E2E_UPSTREAM_URL}}\n"
        f"        api_key: ${{E2E_UPSTREAM_KEY}}\n        model: {model}\n        {price}\n"
    )


CONFIG = "models:\n" + "".join(
    [
        _model("dall-e", "image_generation", "openai", "dall-e-fake", "cost_per_image: 0.04"),
        _model("whisper", "transcription", "openai", "whisper-fake", "cost_per_second: 0.0001"),
        _model("tts", "speech", "openai", "tts-fake", "cost_per_character: 0.000015"),
        _model(
            "tts-broken",
            "speech",
            "openai",
            "fail-500",
            "free: true",
            "    breaker: {consecutive_failures: 2, base_ejection_seconds: 60}\n",
        ),
        _model("vision", "image_analysis, ocr", "openai-compatible", "vision-fake", "free: true"),
        _model(
            "tasks", "classification, summarization", "openai-compatible", "tasks", "free: true"
        ),
    ]
)


@pytest.fixture(scope="module")
def media_server(
    upstream: FakeUpstream, admin_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwelveServer]:
    root = tmp_path_factory.mktemp("media")
    config = root / "twelve.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    env = server_env(config, root / "data") | {
        "TWELVE_ADMIN_KEY": admin_key,
        "E2E_UPSTREAM_URL": f"{upstream.base_url}/v1",
        "TWELVE_AUDIO_MAX_BYTES": str(AUDIO_MAX_BYTES),
        # The fake serves a picture on 127.0.0.1: that network may be fetched, no other private.
        "TWELVE_IMAGES_ALLOW_NETWORKS": "127.0.0.0/8",
    }
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    yield server
    server.stop()


def customer(server: TwelveServer, admin_key: str, name: str, usd: float, **limits: Any) -> str:
    """A new customer holding `usd`, and a key of theirs (with `limits`)."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{server.base_url}/admin/v1", headers=headers) as admin:
        made = admin.post("/customers", json={"name": name, "credits": usd})
        assert made.status_code == 201, made.text
        CUSTOMER_IDS[name] = made.json()["id"]
        key = admin.post("/keys", json={"customer_id": made.json()["id"], **limits})
        assert key.status_code == 201, key.text
        issued: str = key.json()["key"]
        return issued


CUSTOMER_IDS: dict[str, str] = {}


def account(server: TwelveServer, admin_key: str, name: str) -> dict[str, Any]:
    """The customer's account once no hold is open."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    url = f"{server.base_url}/admin/v1/customers/{CUSTOMER_IDS[name]}"
    for _ in range(200):
        found = httpx.get(url, headers=headers)
        assert found.status_code == 200, found.text
        if found.json()["open_holds"] == 0:
            result: dict[str, Any] = found.json()
            return result
        time.sleep(0.05)
    raise AssertionError("holds still open")


def usage_of(server: TwelveServer, key: str, *, requests: int) -> list[tuple[str, int]]:
    """The key's customer's requests by model, once `requests` are recorded."""
    return [(u["group"], u["requests"]) for u in usage_rows(server, key, requests=requests)]


def usage_rows(server: TwelveServer, key: str, *, requests: int) -> list[dict[str, Any]]:
    """The key's customer's `GET /v1/usage` by model, once `requests` are recorded (rows are
    written in batches, a moment after the answers)."""
    deadline = time.monotonic() + 10
    while True:
        data: list[dict[str, Any]] = httpx.get(
            f"{server.base_url}/v1/usage?group_by=model",
            headers={"Authorization": f"Bearer {key}"},
        ).json()["data"]
        if sum(u["requests"] for u in data) >= requests or time.monotonic() > deadline:
            return data
        time.sleep(0.1)


def units(server: TwelveServer, name: str, unit: str) -> float:
    """`twelve_usage_units_total` of the customer `name` in `unit` (0 when never counted)."""
    labels = (f'customer="{CUSTOMER_IDS[name]}"', f'unit="{unit}"')
    for line in httpx.get(f"{server.base_url}/metrics").text.splitlines():
        if line.startswith("twelve_usage_units_total{") and all(x in line for x in labels):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def sdk(server: TwelveServer, key: str) -> OpenAI:
    return OpenAI(api_key=key, base_url=f"{server.base_url}/v1", max_retries=0)


def test_images_generate_with_the_sdk_stores_the_images_and_bills_per_image(
    media_server: TwelveServer, admin_key: str
) -> None:
    key = customer(media_server, admin_key, "painter", 1.0)
    with sdk(media_server, key) as client:
        raw = client.images.with_raw_response.generate(model="dall-e", prompt="a square", n=2)
        answer = raw.parse()
        files = client.files.list().data
    validate(raw.http_response.json(), "ImagesResponse")
    assert raw.headers["x-twelve-provider"] == "openai"
    assert [base64.b64decode(d.b64_json or "") for d in answer.data] == [png(), png()]
    assert units(media_server, "painter", "images") == 2
    stored = {d["file_id"] for d in raw.http_response.json()["data"]}
    assert stored == {f.id for f in files} and len(stored) == 2
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}) as http:
        content = http.get(f"{media_server.base_url}/v1/files/{files[0].id}/content")
    assert content.content == png()
    # Two images at $0.04: 80,000 micro-dollars, settled from a hold of the same.
    assert account(media_server, admin_key, "painter")["balance_micros"] == 1_000_000 - 80_000
    # The customer sees them in its usage: two images, and what they cost.
    [used] = usage_rows(media_server, key, requests=1)
    assert (used["group"], used["requests"], used["images"]) == ("dall-e", 1, 2)
    assert (used["audio_seconds"], used["characters"]) == (0, 0)
    assert (used["cost_micros"], used["cost"]) == (80_000, 0.08)


def test_speech_with_the_sdk_answers_audio_bills_per_character_and_keeps_the_file(
    media_server: TwelveServer, admin_key: str
) -> None:
    key = customer(media_server, admin_key, "speaker", 1.0)
    words = "one two three four"
    with sdk(media_server, key) as client:
        spoken = client.audio.speech.with_raw_response.create(
            model="tts", voice="alloy", input=words, response_format="wav"
        )
        audio = spoken.content
        files = client.files.list().data
    assert audio == wav(1.0)
    assert spoken.headers["content-type"] == "audio/wav"
    assert spoken.headers["x-twelve-file-id"] == files[0].id
    charged = 1_000_000 - account(media_server, admin_key, "speaker")["balance_micros"]
    assert charged == len(words) * PRICED["tts-per-character"]
    assert units(media_server, "speaker", "characters") == len(words)
    assert units(media_server, "speaker", "audio_seconds") == 0  # the fake says no duration
    [used] = usage_rows(media_server, key, requests=1)
    assert (used["group"], used["requests"], used["characters"]) == ("tts", 1, len(words))
    assert (used["images"], used["audio_seconds"], used["cost_micros"]) == (0, 0, charged)


def test_transcription_with_the_sdk_is_a_multipart_upload_billed_per_second(
    media_server: TwelveServer, admin_key: str, upstream: FakeUpstream
) -> None:
    key = customer(media_server, admin_key, "listener", 1.0)
    audio = wav(3.0)
    with sdk(media_server, key) as client:
        text = client.audio.transcriptions.create(
            model="whisper", file=("hello.wav", audio), language="en", temperature=0.2
        )
        plain = client.audio.transcriptions.create(
            model="whisper", file=("hello.wav", audio), response_format="text"
        )
    assert text.text == f"heard {len(audio)} bytes of hello.wav"
    assert plain.strip() == text.text
    sent = next(r for r in reversed(upstream.requests) if r.path == "/v1/audio/transcriptions")
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert sent.json["file"] == {"filename": "hello.wav", "bytes": len(audio)}
    charged = 1_000_000 - account(media_server, admin_key, "listener")["balance_micros"]
    # Three seconds at $0.0001 for the JSON answer; the text answer reported no duration, so it
    # was charged its hold (the upload's bound).
    assert charged >= 3 * PRICED["whisper-per-second"]
    assert usage_of(media_server, key, requests=2) == [("whisper", 2)]
    [used] = usage_rows(media_server, key, requests=2)
    assert (used["audio_seconds"], used["cost_micros"]) == (3, charged)  # the text one: none


def test_image_analysis_takes_base64_a_file_id_or_a_url(
    media_server: TwelveServer, admin_key: str, upstream: FakeUpstream
) -> None:
    key = customer(media_server, admin_key, "viewer", 1.0)
    headers = {"Authorization": f"Bearer {key}"}
    picture = base64.b64encode(png()).decode()
    with httpx.Client(base_url=f"{media_server.base_url}/v1", headers=headers) as api:
        uploaded = api.post("/files", files={"file": ("p.png", png())}, data={"purpose": "vision"})
        file_id = uploaded.json()["id"]
        given = [
            {"image": picture},
            {"image": f"data:image/png;base64,{picture}"},
            {"file_id": file_id},
            {"url": f"{upstream.base_url}/files/picture.png"},
        ]
        for source in given:
            answer = api.post("/images/analyses", json={"model": "vision", **source})
            assert answer.status_code == 200, (source, answer.text)
            assert answer.json()["labels"][0]["label"] == "grey square"
            assert answer.json()["usage"] == {"images": 1}
            sent = next(r for r in reversed(upstream.requests) if r.path == "/v1/images/analyses")
            assert sent.json["image"] == picture and "url" not in sent.json
        ocr = api.post("/ocr", json={"model": "vision", "file_id": file_id})
        assert ocr.status_code == 200 and ocr.json()["text"] == f"{len(png())} bytes"
        # Another customer's file is a 404, exactly like one that does not exist.
        other = customer(media_server, admin_key, "stranger", 1.0)
        stolen = httpx.post(
            f"{media_server.base_url}/v1/ocr",
            json={"model": "vision", "file_id": file_id},
            headers={"Authorization": f"Bearer {other}"},
        )
        assert stolen.status_code == 404 and stolen.json()["error"]["code"] == "file_not_found"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/x.png",
        "http://[::1]/x.png",
        "http://localhost.:1/x.png",
        "file:///etc/passwd",
        "http://user:pw@example.invalid/x.png",
    ],
)
def test_image_urls_that_reach_private_addresses_are_refused(
    media_server: TwelveServer, admin_key: str, upstream: FakeUpstream, url: str
) -> None:
    key = customer(media_server, admin_key, f"ssrf-{abs(hash(url))}", 1.0)
    before = len(upstream.requests)
    answer = httpx.post(
        f"{media_server.base_url}/v1/images/analyses",
        json={"model": "vision", "url": url},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == "url"
    assert len(upstream.requests) == before


def test_classifications_and_summaries_route_to_any_server_of_the_contract(
    media_server: TwelveServer, admin_key: str
) -> None:
    key = customer(media_server, admin_key, "reader", 1.0)
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=f"{media_server.base_url}/v1", headers=headers) as api:
        picked = api.post(
            "/classifications",
            json={"model": "tasks", "input": "about sports", "labels": ["food", "sports"]},
        )
        summary = api.post(
            "/summaries", json={"model": "tasks", "input": "One. Two. Three.", "sentences": 2}
        )
    assert picked.status_code == 200 and picked.json()["label"] == "sports"
    assert summary.json()["sentences"] == ["One.", "Two."]


def test_bad_media_input_is_a_clear_4xx_that_reaches_no_upstream(
    media_server: TwelveServer, admin_key: str, upstream: FakeUpstream
) -> None:
    key = customer(media_server, admin_key, "clumsy", 1.0)
    headers = {"Authorization": f"Bearer {key}"}
    before = len(upstream.requests)
    with httpx.Client(base_url=f"{media_server.base_url}/v1", headers=headers) as api:
        cases = [
            (api.post("/audio/transcriptions", data={"model": "whisper"},
                      files={"file": ("a.txt", b"just some text")}), 415),
            (api.post("/audio/transcriptions", data={"model": "whisper"},
                      files={"file": ("a.wav", b"RIFF\x00\x00\x00\x00WAVEjunk")}), 400),
            (api.post("/audio/transcriptions", data={"model": "whisper"},
                      files={"file": ("a.wav", wav(10.0))}), 413),
            (api.post("/audio/transcriptions", data={"model": "whisper"}), 400),
            (api.post("/audio/transcriptions", json={"model": "whisper"}), 400),
            (api.post("/audio/speech", json={"model": "tts", "input": "", "voice": "alloy"}), 400),
            (api.post("/images/analyses", json={"model": "vision", "image": "bm90IGFuIGltYWdl"}),
             415),
            (api.post("/images/analyses",
                      json={"model": "vision", "image": base64.b64encode(png()[:20]).decode()}),
             400),
            (api.post("/images/analyses", json={"model": "vision", "image": "!!not base64!!"}),
             400),
            (api.post("/ocr", json={"model": "vision", "file": "", "url": "http://x.example"}),
             400),
            (api.post("/images/generations", json={"model": "dall-e", "prompt": ""}), 400),
            (api.post("/images/generations", json={"model": "tts", "prompt": "x"}), 400),
        ]  # fmt: skip
    for index, (answer, status) in enumerate(cases):
        assert answer.status_code == status, (index, answer.text)
        validate(answer.json(), "ErrorResponse")
    assert len(upstream.requests) == before


def test_the_per_route_body_bound_refuses_oversized_uploads(
    media_server: TwelveServer, admin_key: str
) -> None:
    key = customer(media_server, admin_key, "oversized", 1.0)
    answer = httpx.post(
        f"{media_server.base_url}/v1/audio/transcriptions",
        data={"model": "whisper"},
        files={"file": ("big.wav", b"\0" * (AUDIO_MAX_BYTES + 100_000))},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 413, answer.text


def test_a_failing_speech_upstream_opens_its_breaker(
    media_server: TwelveServer, admin_key: str
) -> None:
    """Breakers count media calls like any: two failures in a row eject the deployment (its only
    one, so routing still tries it as the last resort, and the client gets the upstream error)."""
    key = customer(media_server, admin_key, "unlucky", 1.0)
    body = {"model": "tts-broken", "input": "hi", "voice": "alloy"}
    headers = {"Authorization": f"Bearer {key}"}
    url = f"{media_server.base_url}/v1/audio/speech"
    for _ in range(2):
        failed = httpx.post(url, json=body, headers=headers)
        assert failed.status_code == 502, failed.text
        validate(failed.json(), "ErrorResponse")
        assert failed.json()["error"]["type"] == "upstream_error"
    metrics = httpx.get(f"{media_server.base_url}/metrics").text
    deployment = "tts-broken/openai/fail-500"
    assert f'twelve_breaker_state{{deployment="{deployment}"}} 1.0' in metrics


def test_rate_limits_apply_to_media_routes(media_server: TwelveServer, admin_key: str) -> None:
    key = customer(media_server, admin_key, "hasty", 1.0, rpm=1)
    body = {"model": "tts", "input": "hi", "voice": "alloy"}
    headers = {"Authorization": f"Bearer {key}"}
    url = f"{media_server.base_url}/v1/audio/speech"
    assert httpx.post(url, json=body, headers=headers).status_code == 200
    limited = httpx.post(url, json=body, headers=headers)
    assert limited.status_code == 429 and "retry-after" in limited.headers


def test_image_generation_with_no_image_model_says_how_to_configure_one(
    server: TwelveServer, api: httpx.Client
) -> None:
    """The session's server configures no image model."""
    answer = api.post("/v1/images/generations", json={"model": "dall-e-3", "prompt": "a cat"})
    assert answer.status_code == 404
    message = answer.json()["error"]["message"]
    assert "capabilities: [image_generation]" in message and "provider" in message
