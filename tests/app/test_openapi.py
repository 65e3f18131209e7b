"""The app's own OpenAPI document: it builds, and it describes the public request bodies."""

from __future__ import annotations

from pathlib import Path

from twelve.app.asgi import create_app
from twelve.app.settings import Settings

ADMIN_KEY = "adm-" + "0" * 40


def test_openapi_describes_the_public_and_admin_routes(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, admin_key=ADMIN_KEY))
    spec = app.openapi()
    paths = spec["paths"]
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models"):
        assert path in paths
    for path in ("/admin/v1/customers", "/admin/v1/keys", "/healthz", "/readyz", "/metrics"):
        assert path in paths
    chat = paths["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]
    schema = chat["schema"]
    assert set(schema["required"]) == {"model", "messages"}
    assert "$ref" not in str(schema)  # every $defs reference inlined
