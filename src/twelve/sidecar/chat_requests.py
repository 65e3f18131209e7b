"""The request bodies of `local-chat`'s two endpoints, in OpenAI's shapes, and what they become for
the model: plain `{role, content}` messages and `Sampling`.

Unknown fields are ignored (clients send many), but options that would change the answer's
meaning and that this model cannot honour (n > 1, logprobs, tools, suffix) are refused with a 400
rather than silently dropped."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from twelve.sidecar.chat_model import Sampling

# SmolLM2's model card samples at temperature 0.2, top_p 0.9; OpenAI's defaults (1.0, 1.0) make
# a 135M model ramble. These apply only when a request leaves the field out.
DEFAULT_TEMPERATURE = 0.2
DEFAULT_TOP_P = 0.9

Text = Annotated[str, Field(min_length=1)]


class Unsupported(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        if any(part.type != "text" for part in self.content):
            raise Unsupported("local-chat reads text only (content parts of type 'text').",
                              "messages")  # fmt: skip
        return "".join(part.text or "" for part in self.content)


class GenerationOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: str | list[str] | None = Field(default=None)
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    n: int | None = Field(default=None, ge=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None

    def sampling(self, max_tokens: int) -> Sampling:
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        if len(stops) > 4 or any(not s for s in stops):
            raise Unsupported("Give at most 4 stop sequences, none empty.", "stop")
        if (self.n or 1) != 1:
            raise Unsupported("local-chat makes one choice per request (n = 1).", "n")
        return Sampling(
            max_tokens=max_tokens,
            temperature=DEFAULT_TEMPERATURE if self.temperature is None else self.temperature,
            top_p=DEFAULT_TOP_P if self.top_p is None else self.top_p,
            stop=stops,
            seed=self.seed,
            presence_penalty=self.presence_penalty or 0.0,
            frequency_penalty=self.frequency_penalty or 0.0,
        )

    def requested_tokens(self) -> int | None:
        return self.max_tokens

    def wants_usage_chunk(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


class ChatRequest(GenerationOptions):
    messages: list[Message] = Field(min_length=1, max_length=1000)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    logprobs: bool | None = None
    tools: list[object] | None = None

    def requested_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def conversation(self) -> list[dict[str, str]]:
        if self.logprobs:
            raise Unsupported("local-chat does not return logprobs.", "logprobs")
        if self.tools:
            raise Unsupported("local-chat does not call tools.", "tools")
        # The chat template knows system, user and assistant; a developer message is the newer
        # name for a system one.
        return [
            {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
            for m in self.messages
        ]


class CompletionRequest(GenerationOptions):
    prompt: Text | Annotated[list[Text], Field(min_length=1)]
    echo: bool | None = False
    logprobs: int | None = None
    suffix: str | None = None

    def text(self) -> str:
        if self.logprobs is not None:
            raise Unsupported("local-chat does not return logprobs.", "logprobs")
        if self.suffix:
            raise Unsupported("local-chat does not insert text (suffix).", "suffix")
        if isinstance(self.prompt, list):
            if len(self.prompt) != 1:
                raise Unsupported("local-chat completes one prompt per request.", "prompt")
            return self.prompt[0]
        return self.prompt
