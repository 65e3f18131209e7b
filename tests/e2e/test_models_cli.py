"""`twelve models` from a shell: every model and deployment, each deployment checked now."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.e2e.server import run_cli
from tests.fakes.upstream import FakeUpstream
from twelve.app.models_command import table


def test_models_are_listed_with_a_health_check_run_now(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        (tmp_path / "twelve.yaml").write_text(
            f"""
models:
  - name: listed
    strategy: weighted
    fallbacks: [other]
    health_check: {{unhealthy_threshold: 1, timeout_seconds: 1}}
    deployments:
      - {{provider: openai, name: up, base_url: '{fake.base_url}/v1', model: gpt-fake, weight: 3}}
      - {{provider: openai, name: gone, base_url: 'http://127.0.0.1:9/v1', model: m, priority: 1}}
  - name: other
    deployments:
      - {{provider: perplexity, name: unchecked, api_key: pk-x, model: sonar}}
""",
            encoding="utf-8",
        )
        env = {
            "TWELVE_DATA_DIR": str(tmp_path / "data"),
            "TWELVE_CONFIG": str(tmp_path / "twelve.yaml"),
        }
        done = run_cli("models", "--json", env=env)
    assert done.returncode == 0, done.stderr
    data = orjson.loads(done.stdout)["data"]
    listed = data[0]
    assert (listed["id"], listed["strategy"], listed["fallbacks"]) == (
        "listed",
        "weighted",
        ["other"],
    )
    health = {d["name"]: d["health"] for m in data for d in m["deployments"]}
    assert health["up"]["status"] == "healthy" and health["up"]["checked_at"]
    assert health["gone"]["status"] == "unhealthy"
    assert health["unchecked"] == health["unchecked"] | {
        "status": "unknown",
        "detail": "the provider has no cheap call",
    }
    lines = table(data).splitlines()
    assert lines[0].split() == [
        "MODEL",
        "DEPLOYMENT",
        "PROVIDER",
        "PRIORITY",
        "WEIGHT",
        "HEALTH",
        "DETAIL",
    ]
    assert lines[1].split()[:6] == ["listed", "up", "openai", "0", "3", "healthy"]
    assert table([]) == "(no models configured)"
