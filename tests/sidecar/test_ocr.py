"""`local-ocr` reads real rendered text exactly, from images and PDF pages, through the sidecar's
HTTP API; bad files get the right 4xx, and a machine without Tesseract gets a 503 naming it.

The text is drawn with the font bundled inside Pillow (no system font needed)."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.sidecar.sidecar_client import sidecar_client
from twelve.sidecar.settings import SidecarSettings

LINES = ["Twelve reads this page exactly.", "Invoice 2041 is due on 14 March."]


@pytest.fixture
async def sidecar() -> AsyncIterator[httpx.AsyncClient]:
    async with sidecar_client(SidecarSettings(ocr_max_pages=3)) as client:
        yield client


def page(lines: list[str]) -> Image.Image:
    font = ImageFont.load_default(size=32)
    image = Image.new("RGB", (1000, 80 + 44 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((40, 40 + 44 * row), line, font=font, fill="black")
    return image


def encoded(image: Image.Image, kind: str, **options: object) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    return base64.b64encode(buffer.getvalue()).decode()


def pdf(pages: list[list[str]]) -> str:
    images = [page(lines) for lines in pages]
    return encoded(images[0], "PDF", save_all=True, append_images=images[1:], resolution=100)


def bomb_png(width: int, height: int) -> str:
    """A few dozen bytes of PNG whose header claims width x height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    raw += chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    return base64.b64encode(raw).decode()


async def ocr(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post("/v1/ocr", json={"model": "local-ocr", **body})


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "TIFF"])
async def test_a_rendered_text_image_is_read_exactly(sidecar: httpx.AsyncClient, kind: str) -> None:
    answer = await ocr(sidecar, file=encoded(page(LINES), kind), filename=f"scan.{kind.lower()}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["object"] == "ocr" and body["model"] == "local-ocr"
    assert body["text"] == "\n".join(LINES)
    assert body["pages"] == [{"page": 1, "text": "\n".join(LINES)}]
    assert body["usage"] == {"images": 1}


async def test_a_data_url_is_read_like_plain_base64(sidecar: httpx.AsyncClient) -> None:
    answer = await ocr(sidecar, file="data:image/png;base64," + encoded(page(LINES[:1]), "PNG"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == LINES[0]


async def test_a_one_page_pdf_is_read(sidecar: httpx.AsyncClient) -> None:
    answer = await ocr(sidecar, file=pdf([LINES]), filename="letter.pdf")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["text"] == "\n".join(LINES)
    assert body["usage"] == {"images": 1}


async def test_pdf_pages_are_read_in_order_and_can_be_chosen(sidecar: httpx.AsyncClient) -> None:
    document = pdf([["First page here."], ["Second page here."], ["Third page here."]])
    every = (await ocr(sidecar, file=document)).json()
    assert [p["text"] for p in every["pages"]] == [
        "First page here.",
        "Second page here.",
        "Third page here.",
    ]
    assert every["usage"] == {"images": 3}
    chosen = (await ocr(sidecar, file=document, pages=[3, 1])).json()
    assert [(p["page"], p["text"]) for p in chosen["pages"]] == [
        (1, "First page here."),
        (3, "Third page here."),
    ]
    assert chosen["text"] == "First page here.\n\nThird page here."
    assert chosen["usage"] == {"images": 2}


async def test_a_multi_page_tiff_is_read_page_by_page(sidecar: httpx.AsyncClient) -> None:
    first, *rest = [page([f"This is page {n} of the fax."]) for n in ("one", "two", "three")]
    tiff = encoded(first, "TIFF", save_all=True, append_images=rest)
    every = (await ocr(sidecar, file=tiff)).json()
    assert every["text"] == "\n\n".join(
        f"This is page {n} of the fax." for n in ("one", "two", "three")
    )
    assert every["usage"] == {"images": 3}
    chosen = (await ocr(sidecar, file=tiff, pages=[2])).json()
    assert chosen["pages"] == [{"page": 2, "text": "This is page two of the fax."}]
    beyond = await ocr(sidecar, file=tiff, pages=[4])
    assert beyond.status_code == 400 and beyond.json()["error"]["param"] == "pages"


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"file": ""}, 400, "file"),
        ({"file": "not base64 at all!"}, 400, "file"),
        ({"file": "data:image/png,plain"}, 400, "file"),
        ({"file": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20).decode()}, 400, "file"),
        ({"file": base64.b64encode(b"%PDF-1.7\ngarbage").decode()}, 400, "file"),
        ({"file": base64.b64encode(b"just some text").decode()}, 415, "file"),
        (
            {"file": base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode()},
            415,
            "file",
        ),
        ({"file": bomb_png(60_000, 60_000)}, 413, "file"),
        ({"file": bomb_png(8_000, 8_000)}, 413, "file"),  # under Pillow's own limit
        ({"file": pdf([["a"]] * 4)}, 413, "pages"),
        ({"file": pdf([["a"]] * 2), "pages": [3]}, 400, "pages"),
        ({"file": pdf([["a"]]), "pages": [0]}, 400, "pages"),
        ({"file": "", "model": "gpt-4o"}, 404, "model"),
        ({"file": encoded(page(["a"]), "PNG"), "pages": [2]}, 400, "pages"),
    ],
)
async def test_bad_files_are_clear_errors(
    sidecar: httpx.AsyncClient, body: dict[str, object], status: int, param: str
) -> None:
    answer = await sidecar.post("/v1/ocr", json={"model": "local-ocr", **body})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"] and error["param"] == param
    assert "Traceback" not in answer.text


async def test_without_tesseract_the_answer_is_503_naming_the_packages(
    sidecar: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no tesseract on it
    answer = await ocr(sidecar, file=encoded(page(LINES), "PNG"))
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["code"] == "model_not_installed"
    assert "tesseract-ocr" in error["message"] and "tesseract-ocr-eng" in error["message"]


async def test_ocr_is_listed_and_measured(sidecar: httpx.AsyncClient) -> None:
    await ocr(sidecar, file=encoded(page(LINES[:1]), "PNG"))
    listed = (await sidecar.get("/v1/models")).json()
    assert "local-ocr" in {m["id"] for m in listed["data"]}
    metrics = (await sidecar.get("/metrics")).text
    assert 'twelve_sidecar_inference_seconds_count{model="local-ocr"} 1.0' in metrics


async def test_reading_is_bounded_in_time() -> None:
    async with sidecar_client(SidecarSettings(ocr_timeout_seconds=0.05)) as client:
        answer = await ocr(client, file=pdf([LINES, LINES, LINES]))
    assert answer.status_code == 413, answer.text
    assert "took over" in answer.json()["error"]["message"]
