"""The services under test: the fake upstream and `twelve serve`, started, awaited and provisioned.

Both run as child processes on free loopback ports, with a throw-away data directory and a
one-model configuration pointing Twelve at the fake. `start_services` launches them,
`wait_until_ready` waits until both answer, and `issue_key` creates the customer and API key that
the measured requests through Twelve use. Stopping them is the caller's job (see `Stack`).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.chat import sanity
from bench.load import Request
from bench.procs import BenchError, Service, free_port
from bench.progress import log

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_MODULE = "tests.fakes.upstream"
UPSTREAM_MODEL = "bench-upstream"
UPSTREAM_KEY = "sk-bench"
TWELVE_MODEL = "bench-chat"

CONFIG_TEMPLATE = """\
models:
  - name: {model}
    deployments:
      - provider: openai
        base_url: http://127.0.0.1:{upstream_port}/v1
        api_key: {upstream_key}
        model: {upstream_model}
"""


@dataclass
class Stack:
    """The services started so far, stopped in reverse order by `main`'s `finally`."""

    tmp: Path
    services: list[Service]

    def service(self, name: str) -> Service:
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)


@dataclass(frozen=True)
class Endpoints:
    """Where the started services listen, and Twelve's admin key."""

    upstream: str  # base URL, e.g. http://127.0.0.1:PORT
    twelve: str
    admin_key: str


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    # No inherited TWELVE_* (a DATABASE_URL or CONFIG from the shell would change what is measured).
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWELVE_")}
    no_proxy = ",".join(filter(None, [env.get("NO_PROXY", ""), "127.0.0.1,localhost"]))
    env.update(NO_PROXY=no_proxy, no_proxy=no_proxy, PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def _twelve_argv(port: int, profile: Path | None) -> list[str]:
    exe = Path(sys.executable).parent / "twelve"
    found = str(exe) if exe.exists() else shutil.which("twelve")
    if found is None:
        raise BenchError("no `twelve` executable next to this Python or on PATH (run `make setup`)")
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    if profile is None:
        return [found, *serve]
    return [sys.executable, "-m", "cProfile", "-o", str(profile.resolve()), found, *serve]


async def _wait_until(
    what: str,
    service: Service,
    probe: Callable[[], Coroutine[Any, Any, bool]],
    within: float,
) -> None:
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        status = service.exited()
        if status is not None:
            raise BenchError(f"{service.name} exited with status {status} before {what}")
        try:
            if await probe():
                return
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.1)
    raise BenchError(f"{service.name}: no {what} within {within:.0f}s")


async def _json(session: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> Any:
    async with session.request(method, url, **kw) as resp:
        body = await resp.read()
        if resp.status >= 300:
            raise BenchError(f"{method} {url} → HTTP {resp.status}: {body[:500]!r}")
        return orjson.loads(body)


def start_services(
    stack: Stack,
    *,
    log_level: str | None,
    extra_env: Sequence[str],
    profile: Path | None,
) -> Endpoints:
    """Start the fake upstream, then Twelve configured against it; both are added to `stack`."""
    upstream_script = ROOT / Path(*UPSTREAM_MODULE.split(".")).with_suffix(".py")
    if not upstream_script.exists():
        raise BenchError(f"the fake upstream {upstream_script.relative_to(ROOT)} does not exist")
    upstream_port, twelve_port = free_port(), free_port()
    while twelve_port == upstream_port:
        twelve_port = free_port()

    upstream = Service.start(
        "upstream",
        [
            sys.executable,
            "-m",
            UPSTREAM_MODULE,
            "--host",
            "127.0.0.1",
            "--port",
            str(upstream_port),
        ],
        log_path=stack.tmp / "upstream.log",
        cwd=ROOT,
        env=_child_env({}),
    )
    stack.services.append(upstream)
    log(f"fake upstream pid {upstream.pid} on 127.0.0.1:{upstream_port}")

    config = stack.tmp / "twelve.yaml"
    config.write_text(
        CONFIG_TEMPLATE.format(
            model=TWELVE_MODEL,
            upstream_port=upstream_port,
            upstream_key=UPSTREAM_KEY,
            upstream_model=UPSTREAM_MODEL,
        ),
        encoding="utf-8",
    )
    admin_key = "twadmin-bench-" + secrets.token_urlsafe(24)
    twelve_env = {
        "TWELVE_DATA_DIR": str(stack.tmp / "data"),
        "TWELVE_ADMIN_KEY": admin_key,
        "TWELVE_CONFIG": str(config),
    }
    if log_level:
        twelve_env["TWELVE_LOG_LEVEL"] = log_level
    for item in extra_env:  # NAME=VALUE, checked by bench.options
        name, value = item.split("=", 1)
        twelve_env[name] = value
    twelve = Service.start(
        "twelve",
        _twelve_argv(twelve_port, profile),
        log_path=stack.tmp / "twelve.log",
        cwd=stack.tmp,
        env=_child_env(twelve_env),
    )
    stack.services.append(twelve)
    log(f"twelve pid {twelve.pid} on 127.0.0.1:{twelve_port}")

    return Endpoints(
        upstream=f"http://127.0.0.1:{upstream_port}",
        twelve=f"http://127.0.0.1:{twelve_port}",
        admin_key=admin_key,
    )


async def wait_until_ready(
    session: aiohttp.ClientSession,
    stack: Stack,
    endpoints: Endpoints,
    *,
    upstream_probe: Request,
    within: float,
) -> None:
    """Wait for the upstream to answer `upstream_probe` and for Twelve's /readyz to return 200."""

    async def upstream_ready() -> bool:
        await sanity(session, "upstream", upstream_probe)
        return True

    async def twelve_ready() -> bool:
        async with session.get(f"{endpoints.twelve}/readyz") as resp:
            await resp.read()
            return resp.status == 200

    await _wait_until("answering", stack.service("upstream"), upstream_ready, within)
    await _wait_until("/readyz 200", stack.service("twelve"), twelve_ready, within)
    log("both services are up")


async def issue_key(session: aiohttp.ClientSession, endpoints: Endpoints) -> str:
    """Create a customer and an API key for it through Twelve's admin API; return the key."""
    admin = {"Authorization": f"Bearer {endpoints.admin_key}"}
    customer = await _json(
        session,
        "POST",
        f"{endpoints.twelve}/admin/v1/customers",
        json={"name": "bench"},
        headers=admin,
    )
    issued = await _json(
        session,
        "POST",
        f"{endpoints.twelve}/admin/v1/keys",
        json={"customer_id": customer["id"], "name": "bench"},
        headers=admin,
    )
    key: str = issued["key"]
    return key
