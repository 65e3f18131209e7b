"""Public surface of the audio module: request schemas and the audio port.

Speech-to-text takes OpenAI's multipart upload; the gateway reads the form into a JSON body whose
`file` is a `FilePart` (see `file_part` in the models api) and validates it against
`TranscriptionRequest`. Text-to-speech answers bytes, as a `BinaryAnswer`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.modules.models.api import JSONObject

__all__ = [
    "USAGE_SUBJECT",
    "AudioService",
    "FileField",
    "KeepOutput",
    "SpeechRequest",
    "TranscriptionRequest",
]

# The usage event each answered request publishes: `data` is {customer_id, model, operation,
# seconds, characters, file_id}.
USAGE_SUBJECT = "twelve.audio.usage.recorded"


class FileField(BaseModel):
    """An uploaded file in a JSON body: its name, declared type and base64 bytes."""

    model_config = ConfigDict(extra="forbid", strict=True)

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(max_length=255)
    data: str


class TranscriptionRequest(BaseModel):
    """`POST /v1/audio/transcriptions` (OpenAI's form, as the gateway read it)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(min_length=1)
    file: FileField
    language: str | None = Field(default=None, min_length=2, max_length=16)
    prompt: str | None = Field(default=None, max_length=4096)
    response_format: Literal["json", "text", "srt", "verbose_json", "vtt"] | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    timestamp_granularities: (
        list[Literal["word", "segment"]] | Annotated[str, Field(max_length=16)] | None
    ) = None
    # OpenAI's newer models stream transcriptions; Twelve does not yet.
    stream: Literal[False] | None = None
    include: list[str] | None = Field(default=None, max_length=8)
    chunking_strategy: str | None = Field(default=None, max_length=256)


class SpeechRequest(BaseModel):
    """`POST /v1/audio/speech` (OpenAI's). Fields not named here pass through."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: str = Field(min_length=1)
    input: str = Field(min_length=1, max_length=4096)
    voice: str | dict[str, str] = Field(min_length=1)
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] | None = None
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    instructions: str | None = Field(default=None, max_length=4096)
    stream_format: Literal["audio"] | None = None


class KeepOutput(BaseModel):
    """What was answered to `customer_id` for `model`: spoken audio is stored, and the usage
    event is published."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    model: str
    operation: Literal["speech", "transcription"]
    answer: JSONObject


class AudioService(Protocol):
    async def check_upload(self, body: JSONObject) -> JSONObject:
        """The transcription body once its file is known to be audio of an accepted type and
        size (415 / 413 / 400 otherwise), before any deployment is called."""
        ...

    async def transcribe(self, deployment_id: str, body: JSONObject) -> JSONObject: ...

    async def speak(self, deployment_id: str, body: JSONObject) -> JSONObject: ...

    async def keep(self, command: KeepOutput) -> JSONObject:
        """Store spoken audio (a `BinaryAnswer`) as one of the customer's files, when storage
        is there, and publish the usage event; the answer with the file's id in its headers
        (`x-twelve-file-id`)."""
        ...
