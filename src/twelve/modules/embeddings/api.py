"""Public surface of the embeddings module: the request schema and the embeddings port."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.modules.models.api import DeploymentRef, JSONObject

__all__ = ["EmbeddingRequest", "EmbeddingsService"]


class EmbeddingRequest(BaseModel):
    """What `POST /v1/embeddings` must satisfy. Fields not named here pass through."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1)


class EmbeddingsService(Protocol):
    async def embed(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject: ...
