"""The public OpenAI-compatible routes: `/v1/models`, `/v1/chat/completions`, `/v1/completions`,
`/v1/embeddings`. Thin: read and check the body, call the gateway service, shape the response.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from fastapi.security.utils import get_authorization_scheme_param

from twelve.kernel.errors import NotFound
from twelve.kernel.rpc import Endpoints
from twelve.modules.chat.api import ChatCompletionRequest
from twelve.modules.completion.api import CompletionRequest
from twelve.modules.embeddings.api import EmbeddingRequest
from twelve.modules.gateway.api import CreateApiKey, KeysService, Principal
from twelve.modules.gateway.metering import record_usage
from twelve.modules.gateway.request_body import read_body, schema_of
from twelve.modules.gateway.routing import Routed
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.streaming import OpenStream, relay
from twelve.modules.models.api import JSONObject, ModelCard


def build_router(gateway: Gateway) -> APIRouter:
    async def caller_of(request: Request) -> Principal:
        # Called directly rather than through FastAPI's Depends: dependency resolution was a
        # tenth of the gateway's CPU per request in the benchmark's profile.
        scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
        return await gateway.authenticate(token if scheme.lower() == "bearer" else "")

    router = APIRouter(prefix="/v1", tags=["openai"])

    @router.get("/models")
    async def list_models(request: Request) -> Response:
        cards = await gateway.list_models(await caller_of(request))
        return _json({"object": "list", "data": [_card(c) for c in cards]})

    @router.get("/models/{model_id:path}")
    async def get_model(model_id: str, request: Request) -> Response:
        for card in await gateway.list_models(await caller_of(request)):
            if card.id == model_id:
                return _json(_card(card))
        raise NotFound(
            f"The model `{model_id}` does not exist.", param="model", code="model_not_found"
        )

    @router.post("/chat/completions", openapi_extra=schema_of(ChatCompletionRequest))
    async def chat_completions(request: Request) -> Response:
        caller = await caller_of(request)
        body = await read_body(request, ChatCompletionRequest)
        if body.get("stream"):
            return _stream(await gateway.chat_stream(caller, body), body)
        return _routed(await gateway.chat(caller, body))

    @router.post("/completions", openapi_extra=schema_of(CompletionRequest))
    async def completions(request: Request) -> Response:
        caller = await caller_of(request)
        body = await read_body(request, CompletionRequest)
        if body.get("stream"):
            return _stream(await gateway.completion_stream(caller, body), body)
        return _routed(await gateway.completion(caller, body))

    @router.post("/embeddings", openapi_extra=schema_of(EmbeddingRequest))
    async def embeddings(request: Request) -> Response:
        caller = await caller_of(request)
        body = await read_body(request, EmbeddingRequest)
        return _routed(await gateway.embeddings(caller, body))

    return router


def _card(card: ModelCard) -> dict[str, Any]:
    return {"id": card.id, "object": "model", "created": card.created, "owned_by": card.owned_by}


def _json(payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), headers=headers, media_type="application/json")


def _routing_headers(routed: Routed[Any]) -> dict[str, str]:
    return {
        "x-twelve-model": routed.deployment.model,
        "x-twelve-deployment": routed.deployment.id,
        "x-twelve-provider": routed.deployment.provider,
        "x-twelve-attempts": str(routed.attempts),
    }


def _routed(routed: Routed[JSONObject]) -> Response:
    return _json(routed.result, _routing_headers(routed))


def _stream(routed: Routed[OpenStream], body: JSONObject) -> StreamingResponse:
    options = body.get("stream_options") or {}
    model = routed.deployment.model
    chunks = relay(
        routed.result,
        include_usage=bool(options.get("include_usage")),
        on_usage=lambda usage: record_usage(model, usage),
    )
    headers = _routing_headers(routed) | {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(chunks, media_type="text/event-stream", headers=headers)


def internal_endpoints(keys: KeysService) -> Endpoints:
    """The keys port, for an admin module served in another process."""
    return Endpoints(
        calls={
            "create_key": lambda a: keys.create_key(CreateApiKey.model_validate(a["command"])),
            "list_keys": lambda a: keys.list_keys(a.get("customer_id")),
            "revoke_key": lambda a: keys.revoke_key(a["key_id"]),
            "authenticate": lambda a: keys.authenticate(a["key"]),
        }
    )
