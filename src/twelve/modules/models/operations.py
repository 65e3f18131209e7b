"""What an operation is: the kinds of call a model may serve, as data (DESIGN: capabilities are
data). Part of the models module's public surface: `api.py` re-exports every name here.

An operation whose upstream request is a multipart form (an audio upload) still takes a JSON body:
its file fields hold a `file_part` (base64 bytes), which the transport sends as a file part. An
operation whose answer is bytes (speech audio) answers a `binary_answer` object: JSON all the
way, so the port stays one signature in-process and across processes.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

JSONObject = dict[str, Any]

Capability = Literal[
    "chat",
    "completions",
    "embeddings",
    "transcription",
    "speech",
    "image_generation",
    "image_analysis",
    "ocr",
    "classification",
    "summarization",
]
# What a configured model serves when its `capabilities` are not listed: text. Audio, images and
# the sidecar's own tasks are opt-in (a provider may offer them without every model doing so).
TEXT_CAPABILITIES: frozenset[Capability] = frozenset({"chat", "completions", "embeddings"})
# How an upstream's answer is read: a JSON object; bytes (`BinaryAnswer`); or whichever the
# response's content type says (a transcription asked for `text`, `srt` or `vtt`).
AnswerKind = Literal["json", "binary", "either"]
# The `object` of a `BinaryAnswer`: {"object": BINARY_OBJECT, "content_type": str, "data":
# base64 str, "headers": {name: value} (the upstream's `x-twelve-*` headers), "usage": {...}}.
BINARY_OBJECT = "twelve.binary"


@dataclass(frozen=True, slots=True)
class Operation:
    """One kind of call a model may serve, as the OpenAI wire format defines it."""

    name: str
    capability: Capability
    # What the capability is called in messages: "The model `x` does not support <noun>."
    noun: str
    # Relative to a deployment's base URL, in the OpenAI wire format.
    path: str
    streams: bool
    # `gen_ai.operation.name` in traces (OpenTelemetry GenAI semantic conventions).
    telemetry_name: str
    # The response's list of results (`choices`, `data`), checked before it is passed on; None:
    # the answer has no such list (a transcription's `text`, an OCR's `pages` may be empty).
    results: str | None
    # Where `usage` counts tokens; `output_tokens` None: the operation generates no text.
    input_tokens: str | None = "prompt_tokens"
    output_tokens: str | None = "completion_tokens"
    # How the upstream request is encoded: JSON, or a multipart form whose `files` fields are
    # `FilePart`s (the others become form fields).
    request: Literal["json", "multipart"] = "json"
    files: tuple[str, ...] = ()
    answer: AnswerKind = "json"


def file_part(data: bytes, filename: str, content_type: str) -> JSONObject:
    """A file in the JSON body of a multipart operation (sent upstream as a file part)."""
    return {
        "filename": filename,
        "content_type": content_type,
        "data": base64.b64encode(data).decode("ascii"),
    }


def binary_answer(
    data: bytes, content_type: str, headers: Mapping[str, str], usage: JSONObject | None = None
) -> JSONObject:
    """An answer that is bytes, as the port returns it."""
    answer: JSONObject = {
        "object": BINARY_OBJECT,
        "content_type": content_type,
        "data": base64.b64encode(data).decode("ascii"),
        "headers": dict(headers),
    }
    if usage is not None:
        answer["usage"] = usage
    return answer


CHAT = Operation(
    name="chat",
    capability="chat",
    noun="chat completions",
    path="chat/completions",
    streams=True,
    telemetry_name="chat",
    results="choices",
)
COMPLETIONS = Operation(
    name="completions",
    capability="completions",
    noun="text completions",
    path="completions",
    streams=True,
    telemetry_name="text_completion",
    results="choices",
)
EMBEDDINGS = Operation(
    name="embeddings",
    capability="embeddings",
    noun="embeddings",
    path="embeddings",
    streams=False,
    telemetry_name="embeddings",
    results="data",
    output_tokens=None,
)

TRANSCRIPTIONS = Operation(
    name="transcriptions",
    capability="transcription",
    noun="audio transcriptions",
    path="audio/transcriptions",
    streams=False,
    telemetry_name="transcription",
    results=None,
    input_tokens="input_tokens",
    output_tokens=None,
    request="multipart",
    files=("file",),
    answer="either",
)
SPEECH = Operation(
    name="speech",
    capability="speech",
    noun="speech synthesis",
    path="audio/speech",
    streams=False,
    telemetry_name="speech",
    results=None,
    input_tokens=None,
    output_tokens=None,
    answer="binary",
)
IMAGE_GENERATIONS = Operation(
    name="image_generations",
    capability="image_generation",
    noun="image generation",
    path="images/generations",
    streams=False,
    telemetry_name="image_generation",
    results="data",
    input_tokens="input_tokens",
    output_tokens="output_tokens",
)
IMAGE_ANALYSES = Operation(
    name="image_analyses",
    capability="image_analysis",
    noun="image analysis",
    path="images/analyses",
    streams=False,
    telemetry_name="image_analysis",
    results="labels",
    input_tokens=None,
    output_tokens=None,
)
OCR = Operation(
    name="ocr",
    capability="ocr",
    noun="OCR",
    path="ocr",
    streams=False,
    telemetry_name="ocr",
    results="pages",
    input_tokens=None,
    output_tokens=None,
)
CLASSIFICATIONS = Operation(
    name="classifications",
    capability="classification",
    noun="classification",
    path="classifications",
    streams=False,
    telemetry_name="classification",
    results="scores",
    output_tokens=None,
)
SUMMARIES = Operation(
    name="summaries",
    capability="summarization",
    noun="summarization",
    path="summaries",
    streams=False,
    telemetry_name="summarization",
    results=None,
    output_tokens=None,
)

OPERATIONS: Mapping[str, Operation] = MappingProxyType(
    {
        op.name: op
        for op in (
            CHAT,
            COMPLETIONS,
            EMBEDDINGS,
            TRANSCRIPTIONS,
            SPEECH,
            IMAGE_GENERATIONS,
            IMAGE_ANALYSES,
            OCR,
            CLASSIFICATIONS,
            SUMMARIES,
        )
    }
)
