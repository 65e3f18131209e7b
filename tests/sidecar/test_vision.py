"""`local-vision` labels, finds faces and scores safety on real photographs through the sidecar's
HTTP API, with no torch; bad images get the right 4xx.

The photographs in tests/sidecar/images/ are small copies of scikit-image's sample data (see the
README there): a cat, a cup of espresso, and an astronaut's portrait (one face)."""

from __future__ import annotations

import asyncio
import base64
import io
import random
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.sidecar.sidecar_client import sidecar_client
from tests.sidecar.test_ocr import bomb_png
from twelve.sidecar.app import create_app
from twelve.sidecar.image_input import RejectedInput, Upload, open_image
from twelve.sidecar.settings import SidecarSettings

IMAGES = Path(__file__).parent / "images"
CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
async def sidecar(cache_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with sidecar_client(SidecarSettings(cache_dir=cache_dir)) as client:
        yield client


def photo(name: str) -> str:
    return base64.b64encode((IMAGES / name).read_bytes()).decode()


async def analyse(client: httpx.AsyncClient, image: str, **extra: object) -> dict[str, Any]:
    answer = await client.post(
        "/v1/images/analyses", json={"model": "local-vision", "image": image, **extra}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["object"] == "image.analysis" and body["model"] == "local-vision"
    assert body["usage"] == {"images": 1}
    return body


async def test_labels_name_what_is_in_the_picture(sidecar: httpx.AsyncClient) -> None:
    cat = await analyse(sidecar, photo("chelsea.jpg"), top_k=3)
    labels = cat["labels"]
    assert isinstance(labels, list) and len(labels) == 3
    assert labels[0]["label"] in CATS
    assert sum(row["score"] for row in labels if row["label"] in CATS) > 0.8
    scores = [row["score"] for row in labels]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0001
    coffee = await analyse(sidecar, "data:image/jpeg;base64," + photo("coffee.jpg"))
    assert coffee["labels"][0]["label"] == "espresso"
    assert coffee["labels"][0]["score"] > 0.5
    assert len(coffee["labels"]) == 5
    assert (coffee["width"], coffee["height"]) == (300, 200)


async def test_a_face_is_found_where_it_is(sidecar: httpx.AsyncClient) -> None:
    body = await analyse(sidecar, photo("astronaut.jpg"))
    faces = body["faces"]
    assert isinstance(faces, list) and len(faces) == 1
    face = faces[0]
    # The astronaut's face is left of centre, in the upper third of the 256x256 portrait.
    assert 70 <= face["x"] <= 100 and 15 <= face["y"] <= 45
    assert 40 <= face["width"] <= 75 and face["width"] == face["height"]


async def test_no_faces_on_a_cat_or_a_cup(sidecar: httpx.AsyncClient) -> None:
    for name in ("chelsea.jpg", "coffee.jpg"):
        assert (await analyse(sidecar, photo(name)))["faces"] == []


@pytest.mark.parametrize(("name", "faces"), [("astronaut.jpg", 1), ("chelsea.jpg", 0)])
async def test_large_pictures_find_the_same_faces(
    sidecar: httpx.AsyncClient, name: str, faces: int
) -> None:
    small = Image.open(IMAGES / name)
    large = small.resize((small.width * 5, small.height * 5), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    large.save(buffer, format="JPEG")
    body = await analyse(sidecar, base64.b64encode(buffer.getvalue()).decode())
    assert len(body["faces"]) == faces
    assert (body["width"], body["height"]) == large.size


async def test_benign_pictures_are_scored_safe(sidecar: httpx.AsyncClient) -> None:
    for name in ("chelsea.jpg", "coffee.jpg", "astronaut.jpg"):
        safety = (await analyse(sidecar, photo(name)))["safety"]
        assert isinstance(safety, dict)
        assert 0.0 <= safety["nsfw_score"] < 0.2 and safety["safe"] is True


async def test_a_strict_threshold_marks_the_same_picture_unsafe(cache_dir: Path) -> None:
    strict = SidecarSettings(cache_dir=cache_dir, nsfw_threshold=0.0001)
    async with sidecar_client(strict) as client:
        safety = (await analyse(client, photo("coffee.jpg")))["safety"]
    assert safety["safe"] is False and 0.0 <= safety["nsfw_score"] < 0.2


@pytest.mark.parametrize("kind", ["PNG", "WEBP", "TIFF", "BMP", "GIF"])
async def test_every_accepted_format_is_read(sidecar: httpx.AsyncClient, kind: str) -> None:
    buffer = io.BytesIO()
    Image.open(IMAGES / "coffee.jpg").save(buffer, format=kind)
    body = await analyse(sidecar, base64.b64encode(buffer.getvalue()).decode(), top_k=1)
    assert (body["width"], body["height"]) == (300, 200)
    if kind != "GIF":  # a 256-colour palette may change what the picture looks like
        assert body["labels"] == [{"label": "espresso", "score": pytest.approx(0.78, abs=0.15)}]


def test_labels_need_no_torch_and_the_built_model_is_cached(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from PIL import Image\n"
        "from twelve.sidecar.image_labels import Labeller\n"
        f"labeller = Labeller(Path({str(tmp_path)!r}))\n"
        f"print(labeller.labels(Image.open({str(IMAGES / 'coffee.jpg')!r}).convert('RGB'), 1)[0].label)\n"  # noqa: E501
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    first = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "espresso"
    cached = list(tmp_path.glob("*.onnx"))
    assert len(cached) == 1 and cached[0].stat().st_size > 10_000_000
    cached[0].write_bytes(b"damaged")  # a broken cache is rebuilt, not fatal
    second = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "espresso"
    assert cached[0].stat().st_size > 10_000_000


@pytest.mark.parametrize(
    ("image", "status"),
    [
        ("", 400),
        ("%%%", 400),
        (base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 40).decode(), 400),
        (base64.b64encode((IMAGES / "coffee.jpg").read_bytes()[:2000]).decode(), 400),
        (base64.b64encode(b"%PDF-1.7\n").decode(), 415),
        (base64.b64encode(b"GIF90a not really").decode(), 415),
        (bomb_png(60_000, 60_000), 413),
    ],
)
async def test_bad_images_are_clear_errors(
    sidecar: httpx.AsyncClient, image: str, status: int
) -> None:
    answer = await sidecar.post(
        "/v1/images/analyses", json={"model": "local-vision", "image": image}
    )
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"] and error["param"] == "image"


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": "gpt-4o", "image": "x"}, 404, "model"),
        ({"model": "local-vision", "image": "x", "top_k": 0}, 400, "top_k"),
        ({"model": "local-vision"}, 400, "image"),
    ],
)
async def test_bad_requests_are_clear_errors(
    sidecar: httpx.AsyncClient, body: dict[str, object], status: int, param: str
) -> None:
    answer = await sidecar.post("/v1/images/analyses", json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["param"] == param


async def test_preloading_builds_the_labels_model_at_start(tmp_path: Path) -> None:
    app = create_app(SidecarSettings(cache_dir=tmp_path, preload=True))
    async with app.router.lifespan_context(app):
        built = await asyncio.to_thread(lambda: list(tmp_path.glob("*.onnx")))
    assert len(built) == 1


def test_damaged_images_are_refused_not_crashed_on() -> None:
    """Bytes of a real photo overwritten here and there: read, or a 400, never anything else."""
    original = (IMAGES / "coffee.jpg").read_bytes()
    randomness = random.Random(12)
    outcomes = set()
    for _ in range(200):
        damaged = bytearray(original)
        for _ in range(randomness.randint(1, 8)):
            damaged[randomness.randrange(4, len(damaged))] = randomness.randrange(256)
        try:
            open_image(Upload(bytes(damaged), "JPEG"), max_pixels=36_000_000, param="image")
            outcomes.add(200)
        except RejectedInput as refusal:
            outcomes.add(refusal.status)
    assert outcomes <= {200, 400, 413}
    assert 400 in outcomes
