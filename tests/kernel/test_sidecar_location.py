from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from twelve.kernel.sidecar_location import SidecarLocation
from twelve.modules.models.loaded_models import load_models


def test_by_default_serve_starts_it_on_the_local_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWELVE_SIDECAR", raising=False)
    location = SidecarLocation()
    assert location.enabled and location.supervised
    assert location.base_url == "http://127.0.0.1:8765/v1"


def test_a_sidecar_elsewhere_is_used_not_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWELVE_SIDECAR", "auto")
    monkeypatch.setenv("TWELVE_SIDECAR_URL", "http://localhost:9000/")
    location = SidecarLocation()
    assert location.enabled and not location.supervised
    assert location.base_url == "http://localhost:9000/v1"


@pytest.mark.parametrize(("name", "value"), [("TWELVE_SIDECAR", "maybe"),
                                             ("TWELVE_SIDECAR_URL", "ftp://x")])  # fmt: skip
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        SidecarLocation()


def test_the_local_models_are_listed_unless_off_or_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TWELVE_SIDECAR", "auto")
    loaded = load_models(None, host="127.0.0.1", port=8080, local=SidecarLocation())
    names = [m.name for m in loaded.config.models]
    assert names == [
        "local-embed", "local-chat", "local-stt", "local-tts",
        "local-ocr", "local-vision", "local-classify", "local-summarize",
    ]  # fmt: skip
    assert {m.deployments[0].provider for m in loaded.config.models} == {"local"}
    assert all(d.free for m in loaded.config.models for d in m.deployments)

    config = tmp_path / "twelve.yaml"
    config.write_text(
        "models:\n  - name: local-embed\n    capabilities: [embeddings]\n    deployments:\n"
        "      - provider: openai-compatible\n        base_url: http://10.0.0.9/v1\n"
        "        model: mine\n"
    )
    models = load_models(config, host="127.0.0.1", port=8080, local=SidecarLocation()).config.models
    mine = models[0]
    assert mine.name == "local-embed" and len(models) == 8
    assert mine.deployments[0].provider == "openai-compatible"

    monkeypatch.setenv("TWELVE_SIDECAR", "off")
    assert load_models(None, host="127.0.0.1", port=8080, local=SidecarLocation()).count == 0
