"""The deployment files (deploy/k8s/, deploy/compose.yaml, the Dockerfile) put the application and
the local inference sidecar side by side with the sidecar reachable only on localhost: it binds
127.0.0.1, publishes no port, and the application's settings point at it. Every Kubernetes object
is checked against the Kubernetes schema; every setting named is one Twelve reads."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from twelve.app.settings import ProcessSettings
from twelve.kernel.sidecar_location import SidecarLocation
from twelve.modules.models.loaded_models import load_models
from twelve.sidecar.settings import SidecarSettings

ROOT = Path(__file__).parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES = "1.30.0"  # the oldest release still common; the manifests use nothing newer


def k8s_objects() -> list[dict[str, Any]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        found += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return found


def one(kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [
        o
        for o in k8s_objects()
        if o["kind"] == kind and name in (None, o.get("metadata", {}).get("name"))
    ]
    assert len(matches) == 1, (kind, name)
    return matches[0]


def containers() -> dict[str, dict[str, Any]]:
    pod = one("Deployment")["spec"]["template"]["spec"]
    return {c["name"]: c for c in pod["containers"]}


def environment(container: dict[str, Any]) -> dict[str, str]:
    """The variables a container gets from its ConfigMaps and its own `env` (literal values)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env |= one("ConfigMap", source["configMapRef"]["name"])["data"]
    env |= {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return env


def sidecar_address(command: list[str]) -> tuple[str, int]:
    assert command[:2] == ["twelve", "sidecar"], command
    return command[command.index("--host") + 1], int(command[command.index("--port") + 1])


def check_sidecar_settings(env: dict[str, str]) -> None:
    """Every TWELVE_SIDECAR_* variable is a sidecar setting, with a value it accepts."""
    named = {k.removeprefix("TWELVE_SIDECAR_").lower(): v for k, v in env.items()
             if k.startswith("TWELVE_SIDECAR_")}  # fmt: skip
    assert named and set(named) <= set(SidecarSettings.model_fields)
    assert SidecarSettings.model_validate(named).host == "127.0.0.1"


def location_of(env: dict[str, str]) -> SidecarLocation:
    """Where the app looks for the sidecar with `env` (the tests' own TWELVE_SIDECAR=off aside)."""
    return SidecarLocation(
        sidecar=env.get("TWELVE_SIDECAR", "auto"), sidecar_url=env["TWELVE_SIDECAR_URL"]
    )


def check_app_points_at(env: dict[str, str], host: str, port: int) -> None:
    known = set(ProcessSettings.model_fields) | set(SidecarLocation.model_fields)
    twelve = {k.removeprefix("TWELVE_").lower() for k in env if k.startswith("TWELVE_")}
    assert twelve <= known, twelve - known
    location = location_of(env)
    # Listed, and not started by `twelve serve`: the pod's (or host's) sidecar is the one.
    assert location.enabled and not location.supervised
    assert location.base_url == f"http://{host}:{port}/v1"
    assert urlsplit(location.base_url).hostname == "127.0.0.1"


def check_probe_command(command: list[str], url: str) -> None:
    assert command[:2] == ["python", "-c"] and url in command[2]
    compile(command[2], "<probe>", "exec")


def test_every_kubernetes_object_matches_the_schema_and_kustomize_lists_them() -> None:
    objects = [o for o in k8s_objects() if o["kind"] != "Kustomization"]
    assert {o["kind"] for o in objects} >= {"Deployment", "Service", "ConfigMap"}
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)
    listed = set(one("Kustomization")["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}

    broken = copy.deepcopy(one("Deployment"))
    broken["spec"]["template"]["spec"]["containers"][1]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_the_pod_runs_the_app_and_a_sidecar_only_it_can_reach() -> None:
    pod = one("Deployment")["spec"]["template"]["spec"]
    assert set(containers()) == {"app", "sidecar"}
    app, sidecar = containers()["app"], containers()["sidecar"]
    assert app["command"] == ["twelve", "serve"]
    host, port = sidecar_address(sidecar["command"])
    assert host == "127.0.0.1"
    assert "ports" not in sidecar and not pod.get("hostNetwork")
    assert all("hostPort" not in p for c in pod["containers"] for p in c.get("ports", []))
    check_sidecar_settings(environment(sidecar))
    check_app_points_at(environment(app), host, port)
    assert int(environment(app)["TWELVE_PORT"]) == app["ports"][0]["containerPort"]
    for container in (app, sidecar):
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_probes_reach_health_and_readiness() -> None:
    app, sidecar = containers()["app"], containers()["sidecar"]
    assert app["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert app["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert app["ports"][0]["name"] == "http"
    # Kubelet's HTTP probes come from outside the pod's loopback: the sidecar's run inside it.
    _host, port = sidecar_address(sidecar["command"])
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        check_probe_command(sidecar[probe]["exec"]["command"], f"http://127.0.0.1:{port}/healthz")


def test_the_service_exposes_only_the_app_port() -> None:
    service = one("Service")
    pod = one("Deployment")["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["type"] == "ClusterIP"
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]


def test_the_configured_models_file_loads_with_the_local_models_at_the_sidecar(
    tmp_path: Path,
) -> None:
    app = containers()["app"]
    mounted = next(m for m in app["volumeMounts"] if m["name"] == "config")
    assert environment(app)["TWELVE_CONFIG"].startswith(mounted["mountPath"] + "/")
    models_file = tmp_path / "twelve.yaml"
    models_file.write_text(one("ConfigMap", "twelve-config")["data"]["twelve.yaml"])
    loaded = load_models(
        models_file, host="0.0.0.0", port=8080, local=location_of(environment(app))
    )
    urls = {
        d.base_url for m in loaded.config.models for d in m.deployments if d.provider == "local"
    }
    assert urls == {"http://127.0.0.1:8765/v1"}


def test_compose_shares_the_apps_network_and_publishes_only_its_port() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    app, sidecar = compose["services"]["app"], compose["services"]["sidecar"]
    assert sidecar["network_mode"] == "service:app"
    assert "ports" not in sidecar and "expose" not in sidecar
    host, port = sidecar_address(sidecar["command"])
    assert host == "127.0.0.1"
    assert app["command"] == ["twelve", "serve"]
    env = {k: str(v) for k, v in app["environment"].items()}
    check_app_points_at(env, host, port)
    assert app["ports"] == [f"127.0.0.1:{env['TWELVE_PORT']}:{env['TWELVE_PORT']}"]
    check_sidecar_settings({k: str(v) for k, v in sidecar["environment"].items()})
    # The same sidecar settings on one host as in the pod.
    in_pod = one("ConfigMap", "twelve-sidecar-env")["data"]
    assert {k: v for k, v in sidecar["environment"].items() if k in in_pod} == in_pod
    check_probe_command(sidecar["healthcheck"]["test"][1:], f"http://127.0.0.1:{port}/healthz")
    for config in compose["configs"].values():
        assert (ROOT / "deploy" / config["file"]).is_file()


def test_the_image_installs_what_make_run_does_and_runs_as_no_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in dockerfile.splitlines()]
    assert any(line.startswith("&& make setup-runtime ") for line in lines)
    for copied in ("Makefile", "pyproject.toml", "requirements.lock", "requirements-data.lock"):
        assert copied in dockerfile and (ROOT / copied).is_file()
    user = next(line.split()[1] for line in lines if line.startswith("USER "))
    assert user not in ("root", "0")
    assert any(line.startswith('CMD ["twelve", "serve"') for line in lines)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "data"} <= set(ignored)
