"""`local-ocr`: Tesseract (Debian's `tesseract-ocr` + `tesseract-ocr-eng`, through pytesseract)
reads images, the pages of a multi-page TIFF, and PDF pages, rendered by PDFium (pypdfium2).

Every cost a client controls is bounded: PDF pages per request, the pixels a page is rendered to
(the DPI is lowered for a page that claims a huge size), and the time Tesseract may spend on one
request. PDFium is not thread-safe, so each call into it holds one process-wide lock; reading
does not, and only one rendered page per request is held at a time.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass

from PIL import Image

from twelve.sidecar.image_input import RejectedInput, Upload, frame_count, open_image
from twelve.sidecar.missing import MissingModel

DEBIAN_PACKAGES = "the Debian packages tesseract-ocr and tesseract-ocr-eng"
_PDFIUM = threading.Lock()
Pages = Generator[tuple[int, Image.Image], None, None]  # (1-based page number, its image)


@dataclass(frozen=True)
class OcrLimits:
    max_pixels: int
    max_pages: int
    dpi: int
    timeout_seconds: float


@dataclass(frozen=True)
class PageText:
    page: int
    text: str


class Reader:
    def __init__(self) -> None:
        try:
            import pytesseract
        except ModuleNotFoundError:
            raise MissingModel("local-ocr", "pytesseract") from None
        if shutil.which("tesseract") is None:
            raise MissingModel("local-ocr", DEBIAN_PACKAGES)
        if "eng" not in pytesseract.get_languages():
            raise MissingModel("local-ocr", "the Debian package tesseract-ocr-eng")
        self._tesseract = pytesseract

    def read(self, upload: Upload, pages: list[int] | None, limits: OcrLimits) -> list[PageText]:
        """The text of an image (one page) or of the chosen pages of a PDF or TIFF, in order. Pages
        are drawn one at a time, each read before the next is drawn, within one time budget."""
        deadline = time.monotonic() + limits.timeout_seconds
        if upload.kind == "TIFF":
            rendered = tiff_pages(upload, pages, limits)
        elif upload.kind == "PDF":
            rendered = pdf_pages(upload.data, pages, limits)
        else:
            rendered = image_page(upload, pages, limits)
        with closing(rendered):
            return [PageText(n, self._text(image, deadline, limits)) for n, image in rendered]

    def _text(self, image: Image.Image, deadline: float, limits: OcrLimits) -> str:
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise RuntimeError("no time left")
            text: str = self._tesseract.image_to_string(image, lang="eng", timeout=left)
        except self._tesseract.TesseractNotFoundError:
            raise MissingModel("local-ocr", DEBIAN_PACKAGES) from None
        except self._tesseract.TesseractError as exc:
            raise RejectedInput(400, "Tesseract could not read the image.", "file") from exc
        except RuntimeError as exc:  # pytesseract's way of saying the timeout passed
            message = f"Reading took over {limits.timeout_seconds:g} s; send fewer pages."
            raise RejectedInput(413, message, "file") from exc
        return text.strip()


def pdf_pages(data: bytes, pages: list[int] | None, limits: OcrLimits) -> Pages:
    """The chosen pages as images, rendered one by one at `limits.dpi` or fewer pixels."""
    try:
        import pypdfium2 as pdfium
    except ModuleNotFoundError:
        raise MissingModel("local-ocr", "pypdfium2") from None
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            raise RejectedInput(400, "The PDF is corrupt or password-protected.", "file") from None
    try:
        with _PDFIUM:
            wanted = _chosen_pages(len(document), pages, limits.max_pages)
        for number in wanted:
            with _PDFIUM:
                page = document[number - 1]
                width, height = page.get_size()  # in points, 1/72 inch
                scale = limits.dpi / 72
                if width * height * scale * scale > limits.max_pixels:
                    scale = math.sqrt(limits.max_pixels / max(width * height, 1.0))
                image = page.render(scale=scale).to_pil().convert("RGB")
                page.close()
            yield number, image
    except pdfium.PdfiumError:
        raise RejectedInput(400, "A page of the PDF could not be rendered.", "file") from None
    finally:
        with _PDFIUM:
            document.close()


def image_page(upload: Upload, pages: list[int] | None, limits: OcrLimits) -> Pages:
    if pages not in (None, [1]):
        raise RejectedInput(400, "An image has one page: omit `pages`.", "pages")
    yield 1, open_image(upload, max_pixels=limits.max_pixels, param="file")


def tiff_pages(upload: Upload, pages: list[int] | None, limits: OcrLimits) -> Pages:
    """A (multi-page) TIFF's chosen pages, each decoded when it is read."""
    at_most = max(pages) if pages else limits.max_pages + 1
    count = frame_count(upload, at_most=at_most, param="file")
    for number in _chosen_pages(count, pages, limits.max_pages):
        yield (
            number,
            open_image(upload, max_pixels=limits.max_pixels, param="file", frame=number - 1),
        )


def _chosen_pages(count: int, pages: list[int] | None, max_pages: int) -> list[int]:
    if count == 0:
        raise RejectedInput(400, "The file has no pages.", "file")
    if pages is None:
        if count > max_pages:
            message = f"The file has over {max_pages} pages; choose some with `pages`."
            raise RejectedInput(413, message, "pages")
        return list(range(1, count + 1))
    if len(pages) > max_pages:
        raise RejectedInput(413, f"At most {max_pages} pages per request.", "pages")
    outside = [n for n in pages if not 1 <= n <= count]
    if outside:
        raise RejectedInput(400, f"The file has pages 1 to {count}; no page {outside[0]}.", "pages")
    return sorted(set(pages))
