"""Public surface of the chat module: the request schema and the chat port.

The schema types every field that code further down reads (the gateway, the protocol
translations), so a body of the wrong shape is a 400 naming the field before any upstream call.
Fields not named here pass through untouched, as do unknown members of the typed objects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twelve.modules.models.api import JSONObject

__all__ = [
    "ChatCompletionRequest",
    "ChatMessage",
    "ChatService",
    "ContentPart",
    "FileInput",
    "FunctionCall",
    "FunctionDefinition",
    "ImageUrl",
    "NamedFunction",
    "StreamOptions",
    "Tool",
    "ToolCall",
    "ToolChoice",
]

_OPEN = ConfigDict(extra="allow", strict=True)
_PART_TYPES = frozenset({"text", "refusal", "image_url", "file", "input_audio"})
# The JSON Schema form of `ContentPart._member_for_its_type`.
_MEMBER_FOR_ITS_TYPE: dict[str, Any] = {
    "allOf": [
        {
            "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
            "then": {"required": [kind], "properties": {kind: {"not": {"type": "null"}}}},
        }
        for kind in sorted(_PART_TYPES)
    ]
}
# orjson reads integers past 64 bits as floats: the schema says where integers end.
_INT64 = 2**63 - 1
# The JSON Schema form of `_content_unless_assistant`, so the document says what is accepted.
_CONTENT_UNLESS_ASSISTANT: dict[str, Any] = {
    "if": {"properties": {"role": {"const": "assistant"}}},
    "then": {},
    "else": {"required": ["content"], "properties": {"content": {"not": {"type": "null"}}}},
}


class _Open(BaseModel):
    model_config = _OPEN


class ImageUrl(_Open):
    url: str


class FileInput(_Open):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class ContentPart(_Open):
    """One part of a multi-part message; the translations read these members."""

    model_config = ConfigDict(extra="allow", strict=True, json_schema_extra=_MEMBER_FOR_ITS_TYPE)

    type: str
    text: str | None = None
    refusal: str | None = None
    image_url: ImageUrl | str | None = None
    file: FileInput | None = None
    input_audio: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _member_for_its_type(self) -> ContentPart:
        # A known part type carries a member of the same name (`{"type": "text", "text": ...}`).
        if self.type in _PART_TYPES and getattr(self, self.type) is None:
            raise ValueError(f"a '{self.type}' part needs '{self.type}'")
        return self


class FunctionCall(_Open):
    name: str
    arguments: str


class ToolCall(_Open):
    id: str | None = None
    type: str | None = None
    function: FunctionCall


class ChatMessage(_Open):
    model_config = ConfigDict(
        extra="allow", strict=True, json_schema_extra=_CONTENT_UNLESS_ASSISTANT
    )

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _content_unless_assistant(self) -> ChatMessage:
        # Only an assistant turn may omit content (it carried tool calls or a refusal instead).
        if self.content is None and self.role != "assistant":
            raise ValueError(f"a '{self.role}' message needs 'content'")
        return self


class FunctionDefinition(_Open):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Open):
    type: str
    function: FunctionDefinition | None = None


class NamedFunction(_Open):
    name: str


class ToolChoice(_Open):
    type: str
    function: NamedFunction | None = None


class StreamOptions(_Open):
    include_usage: bool | None = None


class ChatCompletionRequest(_Open):
    """What `POST /v1/chat/completions` must satisfy. Fields not named here pass through."""

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=_INT64)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=_INT64)
    n: int | None = Field(default=None, ge=1, le=128)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    seed: int | None = Field(default=None, ge=-_INT64 - 1, le=_INT64)
    stop: str | list[str] | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    user: str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    logit_bias: dict[str, int | float] | None = None
    response_format: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None


class ChatService(Protocol):
    async def complete(self, deployment_id: str, body: JSONObject) -> JSONObject:
        """One chat completion on the deployment `deployment_id` (from the models module's plan),
        in OpenAI's shape, naming the model the client asked for (`body["model"]`)."""
        ...

    def stream(self, deployment_id: str, body: JSONObject) -> AsyncIterator[JSONObject]:
        """Chunks in OpenAI's shape; the last carries `usage` when the upstream reported it."""
        ...
