"""`local-ocr`: Tesseract (Debian's `tesseract-ocr` + `tesseract-ocr-eng`, through pytesseract)
reads images and PDF pages; PDF pages are rendered by PDFium (pypdfium2) first.

Every cost a client controls is bounded: PDF pages per request, the pixels a page is rendered to
(the DPI is lowered for a page that claims a huge size), and the time Tesseract may spend on one
page. PDFium is not thread-safe, so rendering holds one process-wide lock; reading does not.
"""

from __future__ import annotations

import math
import shutil
import threading
from dataclasses import dataclass

from PIL import Image

from twelve.sidecar.image_input import RejectedInput, Upload, open_image
from twelve.sidecar.missing import MissingModel

DEBIAN_PACKAGES = "the Debian packages tesseract-ocr and tesseract-ocr-eng"
_PDFIUM = threading.Lock()


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
        """The text of an image (one page) or of the chosen PDF pages, in order."""
        if upload.kind == "PDF":
            rendered = render_pdf(upload.data, pages, limits)
        else:
            if pages not in (None, [1]):
                raise RejectedInput(400, "An image has one page: omit `pages`.", "pages")
            rendered = [(1, open_image(upload, max_pixels=limits.max_pixels, param="file"))]
        return [PageText(n, self._text(image, limits)) for n, image in rendered]

    def _text(self, image: Image.Image, limits: OcrLimits) -> str:
        try:
            text: str = self._tesseract.image_to_string(
                image, lang="eng", timeout=limits.timeout_seconds
            )
        except self._tesseract.TesseractError as exc:
            raise RejectedInput(400, "Tesseract could not read the image.", "file") from exc
        except RuntimeError as exc:  # pytesseract's way of saying the timeout passed
            message = f"A page took over {limits.timeout_seconds:g} s to read."
            raise RejectedInput(413, message, "file") from exc
        return text.strip()


def render_pdf(
    data: bytes, pages: list[int] | None, limits: OcrLimits
) -> list[tuple[int, Image.Image]]:
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
            wanted = _chosen_pages(len(document), pages, limits.max_pages)
            rendered = []
            for number in wanted:
                page = document[number - 1]
                width, height = page.get_size()  # in points, 1/72 inch
                scale = limits.dpi / 72
                if width * height * scale * scale > limits.max_pixels:
                    scale = math.sqrt(limits.max_pixels / max(width * height, 1.0))
                bitmap = page.render(scale=scale)
                rendered.append((number, bitmap.to_pil().convert("RGB")))
                page.close()
            return rendered
        except pdfium.PdfiumError:
            raise RejectedInput(400, "A page of the PDF could not be rendered.", "file") from None
        finally:
            document.close()


def _chosen_pages(count: int, pages: list[int] | None, max_pages: int) -> list[int]:
    if count == 0:
        raise RejectedInput(400, "The PDF has no pages.", "file")
    if pages is None:
        if count > max_pages:
            message = f"The PDF has {count} pages; choose at most {max_pages} with `pages`."
            raise RejectedInput(413, message, "pages")
        return list(range(1, count + 1))
    if len(pages) > max_pages:
        raise RejectedInput(413, f"At most {max_pages} pages per request.", "pages")
    outside = [n for n in pages if not 1 <= n <= count]
    if outside:
        raise RejectedInput(400, f"The PDF has pages 1 to {count}; no page {outside[0]}.", "pages")
    return sorted(set(pages))
