"""The app's own OpenAPI document: bearer auth declared, only errors the API really returns (in
OpenAI's shape), real request and response schemas for every public route, and `/docs` served
from this server with no CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_schema_validator import OAS31Validator

from twelve.app.asgi import create_app
from twelve.app.settings import Settings

ADMIN_KEY = "adm-" + "0" * 40
PUBLIC = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models")


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("d"), admin_key=ADMIN_KEY))
    document: dict[str, Any] = app.openapi()
    return document


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("d"), admin_key=ADMIN_KEY))
    with TestClient(app) as test_client:
        yield test_client


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def test_openapi_describes_the_public_and_admin_routes(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    for path in (*PUBLIC, "/admin/v1/customers", "/admin/v1/keys", "/healthz", "/readyz"):
        assert path in paths
    chat = paths["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]
    schema = chat["schema"]
    assert set(schema["required"]) == {"model", "messages"}
    assert "$ref" not in str(schema)  # every $defs reference inlined


def test_bearer_auth_is_declared_per_api(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["customerKey"] == schemes["customerKey"] | {"type": "http", "scheme": "bearer"}
    assert schemes["adminKey"]["scheme"] == "bearer"
    for method, path, op in operations(spec):
        if path.startswith("/v1/"):
            assert op["security"] == [{"customerKey": []}], (method, path)
        elif path.startswith("/admin/v1/"):
            assert op["security"] == [{"adminKey": []}], (method, path)
        elif path in ("/healthz", "/readyz"):
            assert "security" not in op


def test_no_422_and_every_error_is_openai_shaped(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for method, path, op in operations(spec):
        assert "422" not in op["responses"], (method, path)
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)
    error = spec["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"message", "type", "param", "code"}


def test_the_public_routes_have_real_response_schemas(spec: dict[str, Any]) -> None:
    expected = {
        ("get", "/v1/models"): "ModelList",
        ("get", "/v1/models/{model_id}"): "Model",
        ("post", "/v1/chat/completions"): "ChatCompletion",
        ("post", "/v1/completions"): "Completion",
        ("post", "/v1/embeddings"): "EmbeddingList",
    }
    schemas = spec["components"]["schemas"]
    for (method, path), name in expected.items():
        op = spec["paths"][path][method]
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{name}"
        assert schemas[name]["properties"], name
        if method == "post":
            assert {"400", "401", "404", "502"} <= set(op["responses"])
    chat_stream = spec["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert chat_stream["text/event-stream"]["schema"]["$ref"].endswith("ChatCompletionChunk")


def test_every_reference_resolves_and_the_document_is_valid(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for ref in re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", str(spec)):
        assert ref in schemas, ref
    for name, schema in schemas.items():
        OAS31Validator.check_schema(schema)  # each component is a valid schema
        assert name


def test_the_document_and_docs_are_served_without_a_cdn(client: TestClient) -> None:
    document = client.get("/openapi.json")
    assert document.status_code == 200
    assert "securitySchemes" in document.json()["components"]
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    for source in sources:
        assert source.startswith("/"), f"{source} is not served by Twelve"
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 100
    assert "/openapi.json" in html


def test_only_the_listed_assets_are_served(client: TestClient) -> None:
    for name in ("index.html", "..%2F__init__.py", "swagger-ui.js.map"):
        response = client.get(f"/docs/assets/{name}")
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_the_docs_are_not_in_the_document(spec: dict[str, Any]) -> None:
    assert not any(path.startswith("/docs") for path in spec["paths"])
