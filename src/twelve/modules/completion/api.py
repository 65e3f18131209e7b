"""Public surface of the completion module: the request schema and the completion port.

Every field that code further down reads is typed, so a wrong shape is a 400 naming the field
before any upstream call; fields not named here pass through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.modules.models.api import JSONObject

__all__ = ["CompletionRequest", "CompletionService", "CompletionStreamOptions"]

_OPEN = ConfigDict(extra="allow", strict=True)
# orjson reads integers past 64 bits as floats: the schema says where integers end.
_INT64 = 2**63 - 1
_Token = Annotated[int, Field(ge=0, le=2**31 - 1)]


class CompletionStreamOptions(BaseModel):
    model_config = _OPEN

    include_usage: bool | None = None


class CompletionRequest(BaseModel):
    """What `POST /v1/completions` must satisfy. Fields not named here pass through."""

    model_config = _OPEN

    model: str = Field(min_length=1)
    # Never empty (an upstream would answer "missing parameter" without naming it).
    prompt: (
        Annotated[str, Field(min_length=1)]
        | Annotated[list[str], Field(min_length=1)]
        | Annotated[list[_Token], Field(min_length=1)]
        | Annotated[list[Annotated[list[_Token], Field(min_length=1)]], Field(min_length=1)]
    )
    stream: bool | None = None
    stream_options: CompletionStreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=0, le=_INT64)
    n: int | None = Field(default=None, ge=1, le=128)
    best_of: int | None = Field(default=None, ge=0, le=20)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    logprobs: int | None = Field(default=None, ge=0, le=5)
    echo: bool | None = None
    seed: int | None = Field(default=None, ge=-_INT64 - 1, le=_INT64)
    stop: str | list[str] | None = None
    suffix: str | None = None
    user: str | None = None
    logit_bias: dict[str, int | float] | None = None


class CompletionService(Protocol):
    async def complete(self, deployment_id: str, body: JSONObject) -> JSONObject: ...

    def stream(self, deployment_id: str, body: JSONObject) -> AsyncIterator[JSONObject]: ...
