"""The public OpenAI-compatible routes: `/v1/models`, `/v1/usage` (the calling key's customer's
usage) and one generic handler per endpoint descriptor (`endpoints.py`). Thin: turn the HTTP
request into an exchange, hand it to the pipeline, shape the answer.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal, get_args

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from twelve.kernel.edge import DirectRoutes
from twelve.kernel.errors import InvalidRequest, TwelveError
from twelve.kernel.http_errors import render
from twelve.kernel.telemetry.tracing import child_span, tracer
from twelve.kernel.text import has_control_characters
from twelve.kernel.time_window import time_window
from twelve.modules.credits.api import UsageQuery, UsageService
from twelve.modules.gateway.endpoints import ENDPOINTS, Endpoint
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.form_body import read_form
from twelve.modules.gateway.request_body import read_body, schema_of
from twelve.modules.gateway.responses import RelayResponse
from twelve.modules.gateway.routing import routing_headers
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.streaming import OpenStream, relay
from twelve.modules.models.api import BINARY_OBJECT, JSONObject, ModelCard

PREFIX = "/v1"
_TRACER = tracer(__name__)
_STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


PublicGroup = Literal["day", "model", "key"]


def build_router(gateway: Gateway, usage: UsageService | None = None) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["openai"])

    @router.get("/models")
    async def list_models(request: Request) -> Response:
        cards = await gateway.list_models(await gateway.authenticate(bearer(request)))
        return _json({"object": "list", "data": [_card(c) for c in cards]})

    @router.get("/models/{model_id:path}")
    async def get_model(model_id: str, request: Request) -> Response:
        caller = await gateway.authenticate(bearer(request))
        return _json(_card(await gateway.get_model(caller, model_id)))

    if usage is not None:

        @router.get(
            "/usage",
            description="The calling key's customer's usage: requests, tokens, units (images, "
            "audio seconds, characters) and cost per "
            "UTC day, model or key. `from`/`to`: unix seconds or YYYY-MM-DD (a `to` date "
            "includes that day).",
        )
        async def get_usage(
            request: Request,
            key_id: Annotated[str | None, Query(description="One of your keys.")] = None,
            model: str | None = None,
            since: Annotated[str | None, Query(alias="from")] = None,
            until: Annotated[str | None, Query(alias="to")] = None,
            group_by: Annotated[str, Query(description="day, model or key.")] = "day",
        ) -> Response:
            caller = await gateway.authenticate(bearer(request))
            query = _usage_query(caller.customer_id, key_id, model, since, until, group_by)
            buckets = await usage.usage(query)
            data = [b.model_dump() for b in buckets]
            return _json({"object": "list", "group_by": query.group_by, "data": data})

    for endpoint in ENDPOINTS:
        router.add_api_route(
            endpoint.path,
            _Handler(gateway, endpoint),
            methods=["POST"],
            name=endpoint.name,
            openapi_extra=_request_schema(endpoint),
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

        endpoint = self._endpoint

        async def body_of(schema: type[BaseModel]) -> JSONObject:
            if endpoint.form:
                return await read_form(request, schema)
            return await read_body(request, schema)

        async def client_gone() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass

        exchange = Exchange(endpoint, bearer(request), body_of, client_gone)
        routed = await gateway.serve(exchange)
        headers = routing_headers(routed.deployment, routed.attempts)
        if exchange.response_headers:
            headers |= exchange.response_headers
        if isinstance(routed.result, OpenStream):
            chunks = relay(routed.result, exchange)
            return RelayResponse(chunks, exchange, gateway.finaliser, headers | _STREAM_HEADERS)
        if endpoint.binary and routed.result.get("object") == BINARY_OBJECT:
            return _binary(routed.result, headers)
        return _json(routed.result, headers)

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self(Request(scope, receive))
        except TwelveError as exc:
            response = render(exc)
        if isinstance(response, RelayResponse):
            await response(scope, receive, send)  # its own `response` span
            return
        with child_span(_TRACER, "response", {"twelve.streaming": False}):
            await response(scope, receive, send)


def _usage_query(
    customer_id: str,
    key_id: str | None,
    model: str | None,
    since: str | None,
    until: str | None,
    group_by: str,
) -> UsageQuery:
    """Always the caller's customer: another customer's key id or model matches nothing."""
    if group_by not in get_args(PublicGroup):
        raise InvalidRequest(
            f"Invalid value for 'group_by': {group_by[:40]!r}; use day, model or key.",
            param="group_by",
        )
    for param, value in (("key_id", key_id), ("model", model)):
        if value is not None and (len(value) > 200 or has_control_characters(value)):
            raise InvalidRequest(f"Invalid value for '{param}'.", param=param)
    start, stop = time_window(since, until)
    return UsageQuery(
        customer_id=customer_id,
        key_id=key_id,
        model=model,
        since=start,
        until=stop,
        group_by=group_by,  # checked above
    )


def bearer(request: Request) -> str:
    # Read directly rather than through FastAPI's Depends: dependency resolution was a tenth of
    # the gateway's CPU per request in the benchmark's profile.
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    return token if scheme.lower() == "bearer" else ""


def _card(card: ModelCard) -> dict[str, Any]:
    return {"id": card.id, "object": "model", "created": card.created, "owned_by": card.owned_by}


def _binary(answer: JSONObject, headers: dict[str, str]) -> Response:
    """A `BinaryAnswer` as the bytes it holds (speech audio, a transcription as text), with the
    upstream's `x-twelve-*` headers (audio seconds, characters, the stored file's id)."""
    extra = answer.get("headers")
    if isinstance(extra, dict):
        headers = {**{str(k): str(v) for k, v in extra.items()}, **headers}
    media = str(answer.get("content_type") or "application/octet-stream")
    return Response(base64.b64decode(answer["data"]), headers=headers, media_type=media)


def _request_schema(endpoint: Endpoint) -> dict[str, Any]:
    """The OpenAPI request body: JSON, or a multipart form whose `file` is binary."""
    extra = schema_of(endpoint.schema)
    if endpoint.form:
        content = extra["requestBody"]["content"]  # type: ignore[index]
        schema = content.pop("application/json")["schema"]
        schema["properties"]["file"] = {"type": "string", "format": "binary"}
        content["multipart/form-data"] = {"schema": schema}
    return extra


def _json(payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), headers=headers, media_type="application/json")
