"""The public routes as data: one descriptor per endpoint, served by one generic handler.

A descriptor says everything the pipeline needs to know about a route: its path and request
schema (and whether the body is a multipart form), the capability a routing plan must offer,
which feature port answers it (and how, when it streams), how usage is read from an answer,
what is done once before routing (`prepare`: an image URL or file id resolved, an upload
checked) and once after a good answer (`keep`: outputs stored), and whether the answer may be
bytes. Adding an endpoint is a descriptor here, not a new code path in the pipeline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from twelve.kernel.errors import NotFound
from twelve.modules.audio.api import AudioService, SpeechRequest, TranscriptionRequest
from twelve.modules.audio.api import KeepOutput as KeepAudio
from twelve.modules.chat.api import ChatCompletionRequest, ChatService
from twelve.modules.completion.api import CompletionRequest, CompletionService
from twelve.modules.embeddings.api import EmbeddingRequest, EmbeddingsService
from twelve.modules.gateway.task_requests import ClassificationRequest, SummaryRequest
from twelve.modules.images.api import (
    ImageAnalysisRequest,
    ImageGenerationRequest,
    ImagesService,
    KeepOutput,
    OcrRequest,
    ResolveImage,
)
from twelve.modules.models.api import (
    CLASSIFICATIONS,
    SUMMARIES,
    Capability,
    DeploymentRef,
    JSONObject,
    ModelsService,
)


@dataclass(frozen=True, slots=True)
class FeaturePorts:
    """The feature modules that answer public requests (images and audio: None when this
    process neither serves nor locates them)."""

    chat: ChatService
    completion: CompletionService
    embeddings: EmbeddingsService
    models: ModelsService
    images: ImagesService | None = None
    audio: AudioService | None = None

    @property
    def image_port(self) -> ImagesService:
        if self.images is None:
            raise _not_served("images")
        return self.images

    @property
    def audio_port(self) -> AudioService:
        if self.audio is None:
            raise _not_served("audio")
        return self.audio


def _not_served(module: str) -> NotFound:
    return NotFound(
        f"This server does not serve the {module} module: serve it here or set "
        f"TWELVE_{module.upper()}_URL."
    )


Call = Callable[[FeaturePorts, DeploymentRef, JSONObject], Awaitable[JSONObject]]
Stream = Callable[[FeaturePorts, DeploymentRef, JSONObject], AsyncIterator[JSONObject]]
# Once per request, with the caller's customer id: the body before routing (`prepare`); the
# answer after, with the model asked for (`keep`).
Step = Callable[[FeaturePorts, str, JSONObject], Awaitable[JSONObject]]
Keep = Callable[[FeaturePorts, str, str, JSONObject], Awaitable[JSONObject]]


def usage_field(answer: JSONObject) -> JSONObject | None:
    """OpenAI's `usage` object, when the answer (or stream chunk) carries a well-formed one."""
    usage = answer.get("usage")
    return usage if isinstance(usage, dict) and usage else None


def images_made(answer: JSONObject) -> JSONObject | None:
    """An image generation's usage: OpenAI's token counts (when any) and the images in `data`."""
    data = answer.get("data")
    return {**(usage_field(answer) or {}), "images": len(data) if isinstance(data, list) else 0}


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str  # also the route's name, so OpenAPI operation ids stay stable
    path: str  # under /v1
    schema: type[BaseModel]
    capability: Capability
    call: Call
    stream: Stream | None = None  # None: the endpoint never streams
    usage: Callable[[JSONObject], JSONObject | None] = usage_field
    form: bool = False  # the body is a multipart form (an upload), not JSON
    binary: bool = False  # the answer may be bytes (a `BinaryAnswer`)
    prepare: Step | None = None
    keep: Keep | None = None
    # What a caller is told when no configured model serves the endpoint (None: the usual 404).
    unconfigured: str | None = None

    def streams(self, body: JSONObject) -> bool:
        return self.stream is not None and body.get("stream") is True


NO_IMAGE_GENERATOR = (
    "No model here serves image generation: no local image generator ships with Twelve. "
    "Configure an upstream one in the config file (TWELVE_CONFIG), e.g. "
    "`models: [{name: dall-e-3, capabilities: [image_generation], deployments: [{provider: "
    "openai, api_key: '${OPENAI_API_KEY}', model: dall-e-3, cost_per_image: 0.04}]}]`, "
    "then ask for that model."
)


def _resolve(field: str, documents: bool) -> Step:
    async def prepare(ports: FeaturePorts, customer_id: str, body: JSONObject) -> JSONObject:
        command = ResolveImage(customer_id=customer_id, field=field, body=body, documents=documents)
        return await ports.image_port.resolve_input(command)

    return prepare


def _keep_images(operation: Literal["generation", "analysis", "ocr"]) -> Keep:
    async def keep(
        ports: FeaturePorts, customer: str, model: str, answer: JSONObject
    ) -> JSONObject:
        command = KeepOutput(customer_id=customer, model=model, operation=operation, answer=answer)
        return await ports.image_port.keep(command)

    return keep


def _keep_audio(operation: Literal["speech", "transcription"]) -> Keep:
    async def keep(
        ports: FeaturePorts, customer: str, model: str, answer: JSONObject
    ) -> JSONObject:
        command = KeepAudio(customer_id=customer, model=model, operation=operation, answer=answer)
        return await ports.audio_port.keep(command)

    return keep


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        name="chat_completions",
        path="/chat/completions",
        schema=ChatCompletionRequest,
        capability="chat",
        call=lambda ports, deployment, body: ports.chat.complete(deployment.id, body),
        stream=lambda ports, deployment, body: ports.chat.stream(deployment.id, body),
    ),
    Endpoint(
        name="completions",
        path="/completions",
        schema=CompletionRequest,
        capability="completions",
        call=lambda ports, deployment, body: ports.completion.complete(deployment.id, body),
        stream=lambda ports, deployment, body: ports.completion.stream(deployment.id, body),
    ),
    Endpoint(
        name="embeddings",
        path="/embeddings",
        schema=EmbeddingRequest,
        capability="embeddings",
        call=lambda ports, deployment, body: ports.embeddings.embed(deployment.id, body),
    ),
    Endpoint(
        name="audio_transcriptions",
        path="/audio/transcriptions",
        schema=TranscriptionRequest,
        capability="transcription",
        call=lambda ports, deployment, body: ports.audio_port.transcribe(deployment.id, body),
        form=True,
        binary=True,  # `text`, `srt` and `vtt` answers are text, not JSON
        prepare=lambda ports, _customer, body: ports.audio_port.check_upload(body),
        keep=_keep_audio("transcription"),
    ),
    Endpoint(
        name="audio_speech",
        path="/audio/speech",
        schema=SpeechRequest,
        capability="speech",
        call=lambda ports, deployment, body: ports.audio_port.speak(deployment.id, body),
        binary=True,
        keep=_keep_audio("speech"),
    ),
    Endpoint(
        name="images_generations",
        path="/images/generations",
        schema=ImageGenerationRequest,
        capability="image_generation",
        call=lambda ports, deployment, body: ports.image_port.generate(deployment.id, body),
        usage=images_made,
        keep=_keep_images("generation"),
        unconfigured=NO_IMAGE_GENERATOR,
    ),
    Endpoint(
        name="images_analyses",
        path="/images/analyses",
        schema=ImageAnalysisRequest,
        capability="image_analysis",
        call=lambda ports, deployment, body: ports.image_port.analyze(deployment.id, body),
        prepare=_resolve("image", documents=False),
        keep=_keep_images("analysis"),
    ),
    Endpoint(
        name="ocr",
        path="/ocr",
        schema=OcrRequest,
        capability="ocr",
        call=lambda ports, deployment, body: ports.image_port.read_text(deployment.id, body),
        prepare=_resolve("file", documents=True),
        keep=_keep_images("ocr"),
    ),
    Endpoint(
        name="classifications",
        path="/classifications",
        schema=ClassificationRequest,
        capability="classification",
        call=lambda ports, deployment, body: ports.models.call(
            deployment.id, CLASSIFICATIONS.name, body
        ),
    ),
    Endpoint(
        name="summaries",
        path="/summaries",
        schema=SummaryRequest,
        capability="summarization",
        call=lambda ports, deployment, body: ports.models.call(deployment.id, SUMMARIES.name, body),
    ),
)
