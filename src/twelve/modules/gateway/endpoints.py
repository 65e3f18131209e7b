"""The public routes as data: one descriptor per endpoint, served by one generic handler.

A descriptor says everything the pipeline needs to know about a route: its path and request
schema, the capability a routing plan must offer, which feature port answers it (and how, when it
streams), and how usage is read from an answer. Adding `/v1/images/generations` is a descriptor
here plus a field in `FeaturePorts`, not a new code path in the pipeline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel

from twelve.modules.chat.api import ChatCompletionRequest, ChatService
from twelve.modules.completion.api import CompletionRequest, CompletionService
from twelve.modules.embeddings.api import EmbeddingRequest, EmbeddingsService
from twelve.modules.models.api import Capability, DeploymentRef, JSONObject


@dataclass(frozen=True, slots=True)
class FeaturePorts:
    """The feature modules that answer public requests."""

    chat: ChatService
    completion: CompletionService
    embeddings: EmbeddingsService


Call = Callable[[FeaturePorts, DeploymentRef, JSONObject], Awaitable[JSONObject]]
Stream = Callable[[FeaturePorts, DeploymentRef, JSONObject], AsyncIterator[JSONObject]]


def usage_field(answer: JSONObject) -> JSONObject | None:
    """OpenAI's `usage` object, when the answer (or stream chunk) carries a well-formed one."""
    usage = answer.get("usage")
    return usage if isinstance(usage, dict) and usage else None


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str  # also the route's name, so OpenAPI operation ids stay stable
    path: str  # under /v1
    schema: type[BaseModel]
    capability: Capability
    call: Call
    stream: Stream | None = None  # None: the endpoint never streams
    usage: Callable[[JSONObject], JSONObject | None] = usage_field

    def streams(self, body: JSONObject) -> bool:
        return self.stream is not None and body.get("stream") is True


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
)
