"""The public OpenAI-compatible routes: `/v1/models` and one generic handler per endpoint
descriptor (`endpoints.py`). Thin: turn the HTTP request into an exchange, hand it to the
pipeline, shape the answer.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from twelve.kernel.edge import DirectRoutes
from twelve.kernel.errors import TwelveError
from twelve.kernel.http_errors import render
from twelve.modules.gateway.endpoints import ENDPOINTS, Endpoint
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.request_body import read_body, schema_of
from twelve.modules.gateway.responses import RelayResponse
from twelve.modules.gateway.routing import routing_headers
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.streaming import OpenStream, relay
from twelve.modules.models.api import JSONObject, ModelCard

PREFIX = "/v1"
_STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def build_router(gateway: Gateway) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["openai"])

    @router.get("/models")
    async def list_models(request: Request) -> Response:
        cards = await gateway.list_models(await gateway.authenticate(_bearer(request)))
        return _json({"object": "list", "data": [_card(c) for c in cards]})

    @router.get("/models/{model_id:path}")
    async def get_model(model_id: str, request: Request) -> Response:
        caller = await gateway.authenticate(_bearer(request))
        return _json(_card(await gateway.get_model(caller, model_id)))

    for endpoint in ENDPOINTS:
        router.add_api_route(
            endpoint.path,
            _Handler(gateway, endpoint),
            methods=["POST"],
            name=endpoint.name,
            openapi_extra=schema_of(endpoint.schema),
        )
    return router


def direct_routes(gateway: Gateway | None) -> DirectRoutes:
    """The endpoint routes as plain ASGI apps, for the edge to call without FastAPI's routing,
    middleware and dependency machinery (a third of the CPU per request in `make bench`). The
    same routes stay in `build_router` for the OpenAPI document and any other method."""
    if gateway is None:
        return {}
    return {
        ("POST", PREFIX + e.path): (PREFIX + e.path, _Handler(gateway, e).asgi) for e in ENDPOINTS
    }


class _Handler:
    """One endpoint's handler: a FastAPI endpoint (`__call__`) and a plain ASGI app (`asgi`)."""

    def __init__(self, gateway: Gateway, endpoint: Endpoint) -> None:
        self._gateway = gateway
        self._endpoint = endpoint

    async def __call__(self, request: Request) -> Response:
        gateway = self._gateway

        async def body_of(schema: type[BaseModel]) -> JSONObject:
            return await read_body(request, schema)

        async def client_gone() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass

        exchange = Exchange(self._endpoint, _bearer(request), body_of, client_gone)
        routed = await gateway.serve(exchange)
        headers = routing_headers(routed.deployment, routed.attempts)
        if exchange.response_headers:
            headers |= exchange.response_headers
        if isinstance(routed.result, OpenStream):
            chunks = relay(routed.result, exchange)
            return RelayResponse(chunks, exchange, gateway.finaliser, headers | _STREAM_HEADERS)
        return _json(routed.result, headers)

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self(Request(scope, receive))
        except TwelveError as exc:
            response = render(exc)
        await response(scope, receive, send)


def _bearer(request: Request) -> str:
    # Read directly rather than through FastAPI's Depends: dependency resolution was a tenth of
    # the gateway's CPU per request in the benchmark's profile.
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    return token if scheme.lower() == "bearer" else ""


def _card(card: ModelCard) -> dict[str, Any]:
    return {"id": card.id, "object": "model", "created": card.created, "owned_by": card.owned_by}


def _json(payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), headers=headers, media_type="application/json")
