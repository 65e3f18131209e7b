"""The three processes under test, started on free loopback ports, awaited and provisioned.

- `upstream`: the fake provider (`tests/fakes/upstream.py`, standalone); the `direct` target.
- `lean`: the lean pass-through reference proxy (`bench/lean_proxy.py`) in front of it.
- `twelve`: `twelve serve` as shipped (access log, metrics, trace propagation, key check,
  allow-list and the credit hold on: the model is priced and the customer has credits, so every
  request holds and settles) with a throw-away data directory and one model pointing at the fake.
  `TWELVE_BENCH_FREE=1` marks the model free instead (no hold), to see what credits cost.
  `TWELVE_BENCH_CACHE=hit` gives the model a prompt cache (wrk repeats one request, so all but
  the first hit); `=miss` a cache whose entries live 1 ms (nearly every request misses, and pays
  the key, the lookup, the recording and the store).
  `TWELVE_BENCH_TRACES=0.1` exports traces over OTLP/HTTP, sampling that share of requests
  (`parentbased_traceidratio`), to a receiver started for the run (`bench/otlp_sink.py`).

Every target answers the same wrk request (`chat.lua`): the public model name equals the upstream
model id, so the lean proxy can forward the body unchanged. Stopping is the caller's job (`Stack`).
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import BenchError, Service, free_port
from bench.progress import log

ROOT = Path(__file__).resolve().parent.parent
MODEL = "mock-gpt"  # echoed by the fake upstream; also Twelve's public model name
LEAN_KEY = "sk-bench-key"
CHAT_PATH = "/v1/chat/completions"

CONFIG = """\
models:
  - name: {model}
{cache}    deployments:
      - provider: openai
        base_url: http://127.0.0.1:{port}/v1
        api_key: sk-bench-upstream
        model: {model}
{pricing}"""
PRICED = "        input_cost_per_mtok: 0.15\n        output_cost_per_mtok: 0.60\n"
FREE = "        free: true\n"
CACHE = {"hit": "    cache: {ttl_seconds: 600}\n", "miss": "    cache: {ttl_seconds: 0.001}\n"}


@dataclass(frozen=True)
class Target:
    """Where to send load, with which key, and the process whose CPU the load costs."""

    name: str  # direct, lean, twelve
    port: int
    key: str
    service: Service

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{CHAT_PATH}"


@dataclass
class Stack:
    """The services started so far; `stop` ends them by PID, newest first."""

    tmp: Path
    services: list[Service] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> Service:
        service = Service.start(name, argv, log_path=self.tmp / f"{name}.log", cwd=cwd, env=env)
        self.services.append(service)
        log(f"{name} pid {service.pid}")
        return service

    def stop(self, *, show_logs: bool) -> None:
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception as exc:  # keep stopping the others
                log(f"could not stop {service.name} (pid {service.pid}): {exc!r}")
            if show_logs:
                log(f"--- last lines of {service.name} (pid {service.pid}) ---")
                print(service.tail(), file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _env(extra: dict[str, str]) -> dict[str, str]:
    # No inherited TWELVE_* or OTEL_*: a DATABASE_URL or an exporter from the shell would change
    # what is measured.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWELVE_", "OTEL_"))}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def _request(
    port: int, method: str, path: str, body: Any = None, token: str = ""
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait(service: Service, port: int, path: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if service.exited() is not None:
            raise BenchError(f"{service.name} exited with status {service.exited()}")
        try:
            status, _ = _request(port, "GET", path)
            if status < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchError(f"{service.name}: not answering on {port}{path} within {within:.0f}s")


def _twelve_key(port: int, admin_key: str) -> str:
    status, body = _request(
        port, "POST", "/admin/v1/customers", {"name": "bench", "credits": 1_000_000}, admin_key
    )
    if status >= 300:
        raise BenchError(f"creating the bench customer → HTTP {status}: {body[:300]!r}")
    customer = json.loads(body)["id"]
    status, body = _request(
        port, "POST", "/admin/v1/keys", {"customer_id": customer, "name": "bench"}, admin_key
    )
    if status >= 300:
        raise BenchError(f"creating the bench key → HTTP {status}: {body[:300]!r}")
    key: str = json.loads(body)["key"]
    return key


def _wait_port(port: int, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/count")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"nothing answered on 127.0.0.1:{port} in {seconds} s")


def start_targets(stack: Stack) -> list[Target]:
    """Start the fake upstream, the lean proxy and Twelve; return them in measuring order."""
    twelve_exe = Path(sys.executable).parent / "twelve"
    if not twelve_exe.exists():
        raise BenchError(f"no {twelve_exe} (run `make setup`)")
    up_port, lean_port, twelve_port = free_port(), free_port(), free_port()
    if len({up_port, lean_port, twelve_port}) != 3:
        raise BenchError("could not find three distinct free ports; try again")

    python = sys.executable
    upstream = stack.start(
        "upstream",
        [python, "-m", "tests.fakes.upstream", "--host", "127.0.0.1", "--port", str(up_port)],
        _env({}),
        ROOT,
    )
    lean_argv = [python, str(ROOT / "bench" / "lean_proxy.py"), "--port", str(lean_port)]
    lean_argv += ["--upstream", f"http://127.0.0.1:{up_port}", "--key", LEAN_KEY]
    lean = stack.start("lean", lean_argv, _env({}), ROOT)

    cache = os.environ.get("TWELVE_BENCH_CACHE", "")
    if cache and cache not in CACHE:
        raise BenchError(f"TWELVE_BENCH_CACHE={cache!r}: use hit or miss")
    config = stack.tmp / "twelve.yaml"
    config.write_text(
        CONFIG.format(
            model=MODEL,
            port=up_port,
            pricing=FREE if os.environ.get("TWELVE_BENCH_FREE") == "1" else PRICED,
            cache=CACHE.get(cache, ""),
        ),
        encoding="utf-8",
    )
    admin_key = "twadmin-bench-" + secrets.token_urlsafe(24)
    twelve_env = {
        "TWELVE_DATA_DIR": str(stack.tmp / "data"),
        "TWELVE_ADMIN_KEY": admin_key,
        "TWELVE_CONFIG": str(config),
        # The gateway alone: no local sidecar child (its models are not benchmarked here).
        "TWELVE_SIDECAR": "off",
    }
    ratio = os.environ.get("TWELVE_BENCH_TRACES", "")
    if ratio:
        sink_port = free_port()
        sink_argv = [python, "-m", "bench.otlp_sink", "--port", str(sink_port)]
        stack.start("otlp-sink", sink_argv, _env({}), ROOT)
        _wait_port(sink_port)
        twelve_env |= {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": ratio,
        }
    twelve_argv = [str(twelve_exe), "serve", "--host", "127.0.0.1", "--port", str(twelve_port)]
    twelve = stack.start("twelve", twelve_argv, _env(twelve_env), stack.tmp)

    _wait(upstream, up_port, "/v1/models")
    _wait(lean, lean_port, "/v1/models")
    _wait(twelve, twelve_port, "/readyz")
    return [
        Target("direct", up_port, "", upstream),
        Target("lean", lean_port, LEAN_KEY, lean),
        Target("twelve", twelve_port, _twelve_key(twelve_port, admin_key), twelve),
    ]


def check(target: Target, *, stream: bool) -> None:
    """One request, fully checked, so that a broken set-up fails before any numbers are taken."""
    body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        body["stream"] = True
    status, answer = _request(target.port, "POST", CHAT_PATH, body, target.key)
    if status != 200:
        raise BenchError(f"{target.name}: sanity request → HTTP {status}: {answer[:300]!r}")
    if stream and b"data: [DONE]" not in answer:
        raise BenchError(f"{target.name}: the stream did not end with [DONE]: {answer[-300:]!r}")
    if not stream and not json.loads(answer).get("choices"):
        raise BenchError(f"{target.name}: not a chat completion: {answer[:300]!r}")
