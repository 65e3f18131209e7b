"""Active health checks against real HTTP servers on 127.0.0.1: healthy, down, and hostile
(hangs, a huge body, a gzip bomb, a redirect), each answered within its timeout and bounded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_exchange import FakeState
from tests.fakes.upstream_hostile import gzip_bomb
from twelve.kernel.http_client import HttpClient
from twelve.modules.models.api import DeploymentHealth
from twelve.modules.models.config import ModelsConfig
from twelve.modules.models.service import ModelsRegistry, build_models_service

HUGE_BYTES = 64 * 1024 * 1024


class Outage:
    """What `/flaky/models` answers: 200 until `down` is set."""

    down = False
    seen_headers: list[dict[str, str]] = []


def health_app(state: FakeState) -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        Outage.seen_headers.append(dict(request.headers))
        return web.json_response({"object": "list", "data": []})

    async def flaky(request: web.Request) -> web.Response:
        return web.json_response({}, status=503 if Outage.down else 200)

    async def down(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "overloaded"}}, status=503)

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(60)
        return web.json_response({})

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b" " * (1024 * 1024)
        for _ in range(HUGE_BYTES // len(chunk)):
            await response.write(chunk)
        return response

    async def bomb(request: web.Request) -> web.Response:
        body = gzip_bomb()
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=body, headers=headers)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://127.0.0.1:9/stolen")

    app = web.Application()
    app.router.add_get("/ok/models", ok)
    app.router.add_get("/flaky/models", flaky)
    app.router.add_get("/down/models", down)
    app.router.add_get("/hang/models", hang)
    app.router.add_get("/huge/models", huge)
    app.router.add_get("/bomb/models", bomb)
    app.router.add_get("/redirect/models", redirect)
    app.router.add_get("/ok/custom-health", ok)
    return app


@pytest.fixture(scope="module")
def server() -> Iterator[FakeUpstream]:
    gzip_bomb()  # made once, before any timed check
    with FakeUpstream(app=health_app) as fake:
        yield fake


def registry(http: HttpClient, base: str, models: list[dict[str, Any]]) -> ModelsRegistry:
    for model in models:
        for deployment in model["deployments"]:
            if not deployment["base_url"].startswith("http"):
                deployment["base_url"] = base + deployment["base_url"]
    return build_models_service(ModelsConfig.model_validate({"models": models}), http)


def deployment(name: str, path: str, provider: str = "openai") -> dict[str, Any]:
    return {"name": name, "provider": provider, "base_url": path, "model": "m", "api_key": "sk-h"}


async def check(service: ModelsRegistry) -> dict[str, DeploymentHealth]:
    assert service.health is not None
    await service.health.check_once()
    return {h.deployment: h for h in await service.deployment_health()}


async def test_each_answer_becomes_a_status(server: FakeUpstream, http: HttpClient) -> None:
    checks = {"unhealthy_threshold": 1, "timeout_seconds": 1}
    service = registry(
        http,
        server.base_url,
        [
            {
                "name": "a",
                "health_check": checks,
                "deployments": [
                    deployment("up", "/ok"),
                    deployment("down", "/down"),
                    deployment("absent", "/nothing-here"),
                    deployment("refused", "http://127.0.0.1:9"),
                    deployment("claude", "/ok", provider="anthropic"),
                    deployment("perplexity", "/ok", provider="perplexity"),
                ],
            },
            {
                "name": "b",
                "health_check": {"enabled": False},
                "deployments": [deployment("unchecked", "/ok")],
            },
            {
                "name": "c",
                "health_check": {"path": "custom-health"},
                "deployments": [deployment("custom", "/ok")],
            },
        ],
    )
    before = {h.deployment: h.status for h in await service.deployment_health()}
    assert set(before.values()) == {"unknown"}
    seen = await check(service)
    assert {name: h.status for name, h in seen.items()} == {
        "up": "healthy",
        "down": "unhealthy",
        "absent": "unknown",  # a 404: the upstream does not serve the path, no evidence
        "refused": "unhealthy",
        "claude": "healthy",
        "perplexity": "unknown",
        "unchecked": "unknown",
        "custom": "healthy",
    }
    assert seen["down"].detail == "HTTP 503" and seen["down"].consecutive_failures == 1
    assert seen["refused"].detail.startswith("connection failed")
    assert seen["perplexity"].detail == "the provider has no cheap call"
    assert seen["unchecked"].detail == "checks disabled" and seen["unchecked"].checked_at is None
    assert seen["up"].checked_at is not None and seen["up"].latency_seconds is not None
    # The deployment's own credentials go with the check, as with every call.
    assert any(h.get("Authorization") == "Bearer sk-h" for h in Outage.seen_headers)
    assert any(h.get("x-api-key") == "sk-h" for h in Outage.seen_headers)
    sample = REGISTRY.get_sample_value
    assert sample("twelve_deployment_health", {"deployment": "down"}) == 0
    assert sample("twelve_deployment_health", {"deployment": "up"}) == 1
    assert sample("twelve_deployment_health", {"deployment": "absent"}) == -1
    assert (
        sample("twelve_health_checks_total", {"deployment": "down", "result": "unhealthy"}) or 0
    ) >= 1


async def test_thresholds_turn_failures_into_unhealthy_and_back(
    server: FakeUpstream, http: HttpClient
) -> None:
    checks = {"unhealthy_threshold": 2, "healthy_threshold": 2}
    service = registry(
        http,
        server.base_url,
        [{"name": "t", "health_check": checks, "deployments": [deployment("flaky", "/flaky")]}],
    )
    Outage.down = False
    try:
        assert (await check(service))["flaky"].status == "healthy"
        Outage.down = True
        once = (await check(service))["flaky"]
        assert (once.status, once.consecutive_failures) == ("healthy", 1)  # one is not enough
        assert (await check(service))["flaky"].status == "unhealthy"
        Outage.down = False
        assert (await check(service))["flaky"].status == "unhealthy"  # one good check is not
        assert (await check(service))["flaky"].status == "healthy"
    finally:
        Outage.down = False


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/hang", "timed out after 0.5 s"),
        ("/redirect", "HTTP 302: a redirect (never followed)"),
        ("/huge", "HTTP 200"),
        ("/bomb", "HTTP 200"),
    ],
)
async def test_a_hostile_upstream_is_bounded(
    server: FakeUpstream, http: HttpClient, path: str, detail: str
) -> None:
    checks = {"timeout_seconds": 0.5, "unhealthy_threshold": 1}
    service = registry(
        http,
        server.base_url,
        [{"name": "h", "health_check": checks, "deployments": [deployment("hostile", path)]}],
    )
    started = time.monotonic()
    seen = (await check(service))["hostile"]
    assert time.monotonic() - started < 0.5 + 0.3
    assert seen.detail == detail
    # A body is not judged: a huge one is left unread (its connection closed), not buffered.
    expected = "unhealthy" if path in ("/hang", "/redirect") else "healthy"
    assert seen.status == expected


async def test_checks_run_in_the_background_until_stopped(
    server: FakeUpstream, http: HttpClient
) -> None:
    service = registry(
        http,
        server.base_url,
        [
            {
                "name": "bg",
                "health_check": {"interval_seconds": 1},
                "deployments": [deployment("background", "/ok")],
            }
        ],
    )
    assert service.health is not None
    await service.health.start()
    try:
        for _ in range(50):  # the first check runs at once
            if (await service.deployment_health())[0].status == "healthy":
                break
            await asyncio.sleep(0.02)
        assert (await service.deployment_health())[0].status == "healthy"
    finally:
        await service.health.stop()
    tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("health-check:")]
    assert tasks == []


def test_health_check_settings_are_checked() -> None:
    bad = [
        {"interval_seconds": 0},
        {"timeout_seconds": -1},
        {"path": "../../admin"},
        {"path": "http://elsewhere/models"},
        {"unknown": 1},
    ]
    for health_check in bad:
        model = {
            "name": "x",
            "health_check": health_check,
            "deployments": [{"provider": "openai", "model": "m"}],
        }
        with pytest.raises(ValueError, match="health_check"):
            ModelsConfig.model_validate({"models": [model]})
