"""Public surface of the embeddings module: the request schema and the embeddings port."""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.modules.models.api import JSONObject

__all__ = ["EmbeddingRequest", "EmbeddingsService"]

# OpenAI's limits: no empty input, at most 2,048 inputs per request.
_Text = Annotated[str, Field(min_length=1)]
_Tokens = Annotated[list[Annotated[int, Field(ge=0, le=2**31 - 1)]], Field(min_length=1)]
_MAX_INPUTS = 2048


class EmbeddingRequest(BaseModel):
    """What `POST /v1/embeddings` must satisfy. Fields not named here pass through."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: str = Field(min_length=1)
    input: (
        _Text
        | Annotated[list[_Text], Field(min_length=1, max_length=_MAX_INPUTS)]
        | _Tokens
        | Annotated[list[_Tokens], Field(min_length=1, max_length=_MAX_INPUTS)]
    )
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1, le=2**31 - 1)
    user: str | None = None
    # Embeddings do not stream: an upstream would refuse these without naming them.
    stream: Literal[False] | None = None
    stream_options: None = None


class EmbeddingsService(Protocol):
    async def embed(self, deployment_id: str, body: JSONObject) -> JSONObject: ...
