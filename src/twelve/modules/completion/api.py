"""Public surface of the completion module: the request schema and the completion port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.modules.models.api import DeploymentRef, JSONObject

__all__ = ["CompletionRequest", "CompletionService"]


class CompletionRequest(BaseModel):
    """What `POST /v1/completions` must satisfy. Fields not named here pass through."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: str = Field(min_length=1)
    prompt: str | list[str] | list[int] | list[list[int]]
    stream: bool | None = None
    max_tokens: int | None = Field(default=None, ge=0)
    n: int | None = Field(default=None, ge=1, le=128)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)


class CompletionService(Protocol):
    async def complete(self, deployment: DeploymentRef, body: JSONObject) -> JSONObject: ...

    def stream(self, deployment: DeploymentRef, body: JSONObject) -> AsyncIterator[JSONObject]: ...
