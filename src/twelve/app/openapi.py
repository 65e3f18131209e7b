"""The OpenAPI document at `/openapi.json`, made useful, and `/docs` served without a CDN.

FastAPI's generated document is post-processed, keyed by path, so no route module changes:
- bearer auth is declared (`customerKey` on `/v1`, `adminKey` on `/admin/v1`, `metricsToken`
  on `/metrics`), so `/docs` has an Authorize button;
- FastAPI's 422 (which Twelve never returns: bad input is a 400) is replaced by the errors each
  route really returns, all in OpenAI's error shape;
- the `/v1` routes, which relay JSON and so have no response model, get OpenAI's response schemas
  (`openapi_schemas`), streams included.
`/docs` is Swagger UI from the vendored `swagger-ui-bundle-v2` package: assets from this server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic.json_schema import models_json_schema
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from twelve.app.openapi_schemas import RESPONSE_MODELS
from twelve.kernel.errors import NotFound

JSON = dict[str, Any]
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
_REF = "#/components/schemas/{model}"
_ERROR = {"$ref": _REF.format(model="ErrorResponse")}

SECURITY_SCHEMES: JSON = {
    "customerKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A customer's API key (`tw-...`), issued with the admin API or CLI.",
    },
    "adminKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "The admin key (TWELVE_ADMIN_KEY, or data/admin.key).",
    },
    "metricsToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "TWELVE_METRICS_TOKEN, when set; otherwise /metrics is open.",
    },
}

ERRORS: dict[str, str] = {
    "400": "The body or a parameter is invalid (`param` names it).",
    "401": "The key is missing or wrong.",
    "403": "The key may not do this.",
    "404": "No such model or resource (`model_not_found` for a model the key may not see).",
    "409": "It already exists.",
    "413": "The body is larger than TWELVE_MAX_BODY_BYTES (TWELVE_STORAGE_MAX_FILE_BYTES for "
    "an upload).",
    "429": "The upstream is rate limiting (or, for an upload, too many are in progress).",
    "431": "The request headers are larger than TWELVE_MAX_HEADER_BYTES.",
    "502": "Every deployment failed (the message names the last one).",
    "503": "A module this one depends on is unavailable.",
    "504": "The upstream did not answer in time.",
}
_MODEL_CALL = ("400", "401", "404", "413", "429", "502", "503", "504")
# Per route: the errors it answers with, and (for /v1) its 200 schema and whether it streams.
ROUTES: dict[tuple[str, str], tuple[tuple[str, ...], str | None, str | None]] = {
    ("get", "/v1/models"): (("401", "503"), "ModelList", None),
    ("get", "/v1/models/{model_id}"): (("401", "404", "503"), "Model", None),
    ("post", "/v1/chat/completions"): (_MODEL_CALL, "ChatCompletion", "ChatCompletionChunk"),
    ("post", "/v1/completions"): (_MODEL_CALL, "Completion", "Completion"),
    ("post", "/v1/embeddings"): (_MODEL_CALL, "EmbeddingList", None),
    ("post", "/admin/v1/customers"): (("400", "401", "409", "413"), None, None),
    ("get", "/admin/v1/customers"): (("401",), None, None),
    ("get", "/admin/v1/customers/{customer}"): (("400", "401", "404"), None, None),
    ("patch", "/admin/v1/customers/{customer}"): (
        ("400", "401", "404", "409", "413"),
        None,
        None,
    ),
    ("post", "/admin/v1/keys"): (("400", "401", "404", "413"), None, None),
    ("get", "/admin/v1/keys"): (("400", "401", "404"), None, None),
    ("get", "/admin/v1/keys/{key_id}"): (("400", "401", "404"), None, None),
    ("patch", "/admin/v1/keys/{key_id}"): (("400", "401", "404", "413"), None, None),
    ("post", "/admin/v1/keys/{key_id}/rotate"): (("400", "401", "404", "409", "413"), None, None),
    ("delete", "/admin/v1/keys/{key_id}"): (("400", "401", "404"), None, None),
    ("post", "/v1/files"): (("400", "401", "413", "429", "503"), "FileObject", None),
    ("get", "/v1/files"): (("400", "401", "503"), "FileList", None),
    ("get", "/v1/files/{file_id}"): (("401", "404", "503"), "FileObject", None),
    ("get", "/v1/files/{file_id}/content"): (("401", "404", "503"), None, None),
    ("delete", "/v1/files/{file_id}"): (("401", "404", "503"), "FileDeleted", None),
    ("get", "/metrics"): (("401",), None, None),
}


def install(app: FastAPI) -> None:
    """Replace the app's document with the processed one, and serve `/docs` from local assets."""

    def document() -> JSON:
        if app.openapi_schema is None:
            generated = get_openapi(
                title=app.title, version=app.version, routes=app.routes, description=_about()
            )
            app.openapi_schema = process(generated)
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Twelve API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in ASSETS:  # an allow-list: nothing else of the package is reachable
            raise NotFound(f"No such documentation asset: {name!r}.")
        path = Path(str(swagger_ui_path)) / name
        return FileResponse(path, headers={"cache-control": "public, max-age=86400"})


def process(spec: JSON) -> JSON:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    _, defs = models_json_schema([(m, "serialization") for m in RESPONSE_MODELS], ref_template=_REF)
    schemas.update(defs.get("$defs", {}))
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            _process_operation(method, path, operation)
    return spec


def _process_operation(method: str, path: str, operation: JSON) -> None:
    responses: JSON = operation.setdefault("responses", {})
    responses.pop("422", None)
    errors, body, stream = ROUTES.get((method, path), ((), None, None))
    for status in errors:
        responses[status] = {
            "description": ERRORS[status],
            "content": {"application/json": {"schema": _ERROR}},
        }
    if body is not None:
        content: JSON = {"application/json": {"schema": {"$ref": _REF.format(model=body)}}}
        if stream is not None:
            content["text/event-stream"] = {
                "schema": {"$ref": _REF.format(model=stream)},
                "description": "With `stream: true`: `data: <chunk>` events, then `data: [DONE]`.",
            }
        responses["200"] = {"description": "Success.", "content": content}
    scheme = _scheme(path)
    if scheme is not None:
        operation["security"] = [{scheme: []}]


def _scheme(path: str) -> str | None:
    if path.startswith("/v1/"):
        return "customerKey"
    if path.startswith("/admin/v1/"):
        return "adminKey"
    if path == "/metrics":
        return "metricsToken"
    return None


def _about() -> str:
    return (
        "One OpenAI-compatible endpoint in front of every model. Errors always come as "
        '`{"error": {"message", "type", "param", "code"}}`.'
    )
