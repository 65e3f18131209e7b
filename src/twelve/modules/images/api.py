"""Public surface of the images module: request schemas and the images port.

The gateway reaches image generation (an upstream provider), image analysis and OCR (the local
sidecar, or any server of the same contract) through `ImagesService`. An image to analyse or read
may come as base64 (or a data URL), as a `file_id` of the caller's own files, or as an http(s)
`url`; `resolve_input` turns each into checked base64 once per request, before routing.
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.modules.models.api import JSONObject

__all__ = [
    "USAGE_SUBJECT",
    "ImageAnalysisRequest",
    "ImageGenerationRequest",
    "ImagesService",
    "KeepOutput",
    "OcrRequest",
    "ResolveImage",
]

# The usage event each answered request publishes: `data` is {customer_id, model, operation,
# images, file_ids}.
USAGE_SUBJECT = "twelve.images.usage.recorded"

_Id = Annotated[str, Field(min_length=1, max_length=64)]
_Url = Annotated[str, Field(min_length=1, max_length=2048)]


class ImageGenerationRequest(BaseModel):
    """`POST /v1/images/generations` (OpenAI's). Fields not named here pass through."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: str = Field(min_length=1)
    prompt: str = Field(min_length=1, max_length=32_000)
    n: int | None = Field(default=None, ge=1, le=10)
    response_format: Literal["url", "b64_json"] | None = None
    size: str | None = Field(default=None, max_length=32)
    user: str | None = None
    stream: Literal[False] | None = None


class ImageAnalysisRequest(BaseModel):
    """`POST /v1/images/analyses`: labels, faces and a safety score for one image, given as
    `image` (base64 or a data URL), `file_id` or `url` (one of them)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(min_length=1)
    image: str | None = Field(default=None, min_length=1)
    file_id: _Id | None = None
    url: _Url | None = None
    top_k: int = Field(default=5, ge=1, le=50)


class OcrRequest(BaseModel):
    """`POST /v1/ocr`: the text of an image or a PDF, given as `file` (base64 or a data URL),
    `file_id` or `url` (one of them); `pages`: 1-based pages of a PDF (default: all)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(min_length=1)
    file: str | None = Field(default=None, min_length=1)
    file_id: _Id | None = None
    url: _Url | None = None
    filename: str | None = Field(default=None, min_length=1, max_length=255)
    pages: list[Annotated[int, Field(ge=1, le=10_000)]] | None = Field(
        default=None, min_length=1, max_length=100
    )


class ResolveImage(BaseModel):
    """Turn the image of `body` (at `field`, or its `file_id` / `url`) into checked base64 at
    `field`. `documents`: a PDF is accepted too (OCR)."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    field: Literal["image", "file"]
    body: JSONObject
    documents: bool = False


class KeepOutput(BaseModel):
    """What was answered to `customer_id` for `model`: generated images are stored, and the
    usage event is published."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    model: str
    operation: Literal["generation", "analysis", "ocr"]
    answer: JSONObject


class ImagesService(Protocol):
    async def resolve_input(self, command: ResolveImage) -> JSONObject:
        """The body with its image as base64 at `command.field` (no `file_id`, `url`); a 400 for
        none or more than one source, a bad image or URL, a 404 for a file that is not the
        caller's, a 413 past the size or pixel bound, a 415 for a type not accepted."""
        ...

    async def generate(self, deployment_id: str, body: JSONObject) -> JSONObject: ...

    async def analyze(self, deployment_id: str, body: JSONObject) -> JSONObject: ...

    async def read_text(self, deployment_id: str, body: JSONObject) -> JSONObject: ...

    async def keep(self, command: KeepOutput) -> JSONObject:
        """Store each generated image (`b64_json`) as one of the customer's files, when storage
        is there, and publish the usage event; the answer with `file_id` on each stored image."""
        ...
