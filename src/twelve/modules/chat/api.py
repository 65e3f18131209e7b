"""Public surface of the chat module: the request schema and the chat port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twelve.modules.models.api import DeploymentRef, JSONObject

__all__ = ["ChatCompletionRequest", "ChatMessage", "ChatService", "StreamOptions"]

_OPEN = ConfigDict(extra="allow", strict=True)


class ChatMessage(BaseModel):
    model_config = _OPEN

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _content_unless_assistant(self) -> ChatMessage:
        # Only an assistant turn may omit content (it carried tool calls or a refusal instead).
        if self.content is None and self.role != "assistant":
            raise ValueError(f"a '{self.role}' message needs 'content'")
        return self


class StreamOptions(BaseModel):
    model_config = _OPEN

    include_usage: bool | None = None


class ChatCompletionRequest(BaseModel):
    """What `POST /v1/chat/completions` must satisfy. Fields not named here pass through."""

    model_config = _OPEN

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=128)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)


class ChatService(Protocol):
    async def complete(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject:
        """One chat completion, in OpenAI's shape, naming the model the client asked for."""
        ...

    def stream(self, deployment: DeploymentRef, body: JSONObject) -> AsyncIterator[JSONObject]:
        """Chunks in OpenAI's shape; the last carries `usage` when the upstream reported it."""
        ...
