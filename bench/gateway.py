"""Gateway overhead benchmark: one chat request sent directly to a fake upstream, then via Twelve.

    python -m bench.gateway [--requests N] [--seconds S] [--concurrency 1,16,64]

One run starts the fake upstream (`tests.fakes.upstream`) and `twelve serve` as child processes on
free loopback ports, with a throw-away data directory and a one-model configuration pointing at the
fake. It then drives load from this process through one pooled aiohttp session: non-streaming chat
at each concurrency, first directly against the fake, then through Twelve, and one streaming case
(time to first byte and total) for both. Each case has a warm-up and is bounded by a request count
and a time limit. The result is a Markdown table on stdout (progress goes to stderr) and
`bench/results/latest.json`. Both children are stopped by PID and the temporary directory deleted,
also on errors and Ctrl-C.

This is a benchmark, not a test: it asserts nothing about the numbers. On a small machine the three
processes share the CPUs, so the CPU-per-request columns matter as much as the latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
import orjson

from bench.load import Request, Samples, run_case
from bench.procs import BenchError, Service, free_port
from bench.report import CaseResult, machine, markdown, overheads, write_json

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "latest.json"
UPSTREAM_MODULE = "tests.fakes.upstream"
UPSTREAM_MODEL = "bench-upstream"
TWELVE_MODEL = "bench-chat"
MESSAGES = [{"role": "user", "content": "hello there"}]

CONFIG_TEMPLATE = """\
models:
  - name: {model}
    deployments:
      - provider: openai
        base_url: http://127.0.0.1:{upstream_port}/v1
        api_key: sk-bench
        model: {upstream_model}
"""


def _positive_ints(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"concurrencies must be positive: {text!r}")
    return values


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway",
        description="Measure Twelve's overhead against calling the upstream directly.",
    )
    parser.add_argument("--requests", type=int, default=3000, help="max requests per case")
    parser.add_argument("--seconds", type=float, default=5.0, help="max seconds per case")
    parser.add_argument("--concurrency", type=_positive_ints, default=[1, 16, 64])
    parser.add_argument("--stream-concurrency", type=int, default=16)
    parser.add_argument("--warmup-requests", type=int, default=200)
    parser.add_argument("--warmup-seconds", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout (s)")
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the JSON result")
    parser.add_argument(
        "--twelve-log-level",
        default=None,
        help="TWELVE_LOG_LEVEL for the server (default: its own)",
    )
    parser.add_argument(
        "--twelve-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for the server, e.g. TWELVE_GATEWAY_RETRIES=0 "
        "(repeatable)",
    )
    parser.add_argument(
        "--profile-twelve",
        type=Path,
        default=None,
        metavar="PATH",
        help="run Twelve under cProfile and write its stats to PATH (slows Twelve down)",
    )
    args = parser.parse_args(argv)
    if any("=" not in item for item in args.twelve_env):
        parser.error("--twelve-env takes NAME=VALUE")
    if args.requests < 1 or args.seconds <= 0 or args.stream_concurrency < 1:
        parser.error("--requests, --seconds and --stream-concurrency must be positive")
    return args


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


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


def _chat_request(url: str, model: str, *, stream: bool, token: str) -> Request:
    body: dict[str, Any] = {"model": model, "messages": MESSAGES}
    if stream:
        body["stream"] = True
    return Request(
        url=url,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        body=orjson.dumps(body),
        stream=stream,
    )


async def _sanity(session: aiohttp.ClientSession, target: str, request: Request) -> None:
    """One request, fully checked, so that a broken set-up fails before any numbers are taken."""
    async with session.post(request.url, data=request.body, headers=request.headers) as resp:
        body = await resp.read()
    if resp.status != 200:
        raise BenchError(f"{target}: sanity request → HTTP {resp.status}: {body[:500]!r}")
    if request.stream:
        if b"data: [DONE]" not in body:
            raise BenchError(f"{target}: stream did not end with [DONE]: {body[-300:]!r}")
        return
    try:
        choices = orjson.loads(body)["choices"]
        if not isinstance(choices, list) or not choices:
            raise ValueError("no choices")
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"{target}: not a chat completion ({exc}): {body[:500]!r}") from None


async def _measure(
    session: aiohttp.ClientSession,
    stack: Stack,
    args: argparse.Namespace,
    *,
    case: str,
    target: str,
    request: Request,
    concurrency: int,
) -> CaseResult:
    log(f"{case} {target} c={concurrency}: warm-up")
    await run_case(
        session,
        request,
        concurrency=concurrency,
        max_requests=max(args.warmup_requests, concurrency),
        max_seconds=args.warmup_seconds,
    )
    procs = {"upstream": stack.service("upstream"), "twelve": stack.service("twelve")}
    before = {name: p.cpu_seconds() for name, p in procs.items()}
    bench_before = time.process_time()
    samples: Samples = await run_case(
        session,
        request,
        concurrency=concurrency,
        max_requests=args.requests,
        max_seconds=args.seconds,
    )
    cpu = {"bench": time.process_time() - bench_before}
    cpu.update({name: p.cpu_seconds() - before[name] for name, p in procs.items()})
    result = CaseResult.from_samples(
        case=case,
        target=target,
        concurrency=concurrency,
        stream=request.stream,
        samples=samples,
        cpu_seconds=cpu,
    )
    log(
        f"{case} {target} c={concurrency}: {result.ok} ok, {result.errors} errors, "
        f"{result.rps:.0f} req/s, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms"
    )
    for sample in result.error_samples:
        log(f"  error: {sample}")
    return result


async def run(args: argparse.Namespace, stack: Stack) -> list[CaseResult]:
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
            model=TWELVE_MODEL, upstream_port=upstream_port, upstream_model=UPSTREAM_MODEL
        ),
        encoding="utf-8",
    )
    admin_key = "twadmin-bench-" + secrets.token_urlsafe(24)
    twelve_env = {
        "TWELVE_DATA_DIR": str(stack.tmp / "data"),
        "TWELVE_ADMIN_KEY": admin_key,
        "TWELVE_CONFIG": str(config),
    }
    if args.twelve_log_level:
        twelve_env["TWELVE_LOG_LEVEL"] = args.twelve_log_level
    twelve_env.update(item.split("=", 1) for item in args.twelve_env)
    twelve = Service.start(
        "twelve",
        _twelve_argv(twelve_port, args.profile_twelve),
        log_path=stack.tmp / "twelve.log",
        cwd=stack.tmp,
        env=_child_env(twelve_env),
    )
    stack.services.append(twelve)
    log(f"twelve pid {twelve.pid} on 127.0.0.1:{twelve_port}")

    upstream_base = f"http://127.0.0.1:{upstream_port}"
    twelve_base = f"http://127.0.0.1:{twelve_port}"
    pool = max([*args.concurrency, args.stream_concurrency])
    connector = aiohttp.TCPConnector(limit=pool, limit_per_host=0, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trust_env=False, raise_for_status=False
    ) as session:
        direct = {
            stream: _chat_request(
                f"{upstream_base}/v1/chat/completions",
                UPSTREAM_MODEL,
                stream=stream,
                token="sk-bench",
            )
            for stream in (False, True)
        }

        async def upstream_ready() -> bool:
            await _sanity(session, "upstream", direct[False])
            return True

        async def twelve_ready() -> bool:
            async with session.get(f"{twelve_base}/readyz") as resp:
                await resp.read()
                return resp.status == 200

        await _wait_until("answering", upstream, upstream_ready, args.startup_timeout)
        await _wait_until("/readyz 200", twelve, twelve_ready, args.startup_timeout)
        log("both services are up")

        admin = {"Authorization": f"Bearer {admin_key}"}
        customer = await _json(
            session,
            "POST",
            f"{twelve_base}/admin/v1/customers",
            json={"name": "bench"},
            headers=admin,
        )
        issued = await _json(
            session,
            "POST",
            f"{twelve_base}/admin/v1/keys",
            json={"customer_id": customer["id"], "name": "bench"},
            headers=admin,
        )
        key = issued["key"]
        via = {
            stream: _chat_request(
                f"{twelve_base}/v1/chat/completions", TWELVE_MODEL, stream=stream, token=key
            )
            for stream in (False, True)
        }
        for stream in (False, True):
            await _sanity(session, "upstream", direct[stream])
            await _sanity(session, "twelve", via[stream])

        results: list[CaseResult] = []
        for target, requests in (("direct", direct), ("twelve", via)):
            for concurrency in args.concurrency:
                results.append(
                    await _measure(
                        session,
                        stack,
                        args,
                        case="chat",
                        target=target,
                        request=requests[False],
                        concurrency=concurrency,
                    )
                )
        for target, requests in (("direct", direct), ("twelve", via)):
            results.append(
                await _measure(
                    session,
                    stack,
                    args,
                    case="chat-stream",
                    target=target,
                    request=requests[True],
                    concurrency=args.stream_concurrency,
                )
            )
    return results


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a Twelve dependency
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    stack = Stack(Path(tempfile.mkdtemp(prefix="twelve-bench-")), [])
    started = time.perf_counter()
    load_before = os.getloadavg()
    if load_before[0] > 0.5:
        log(
            f"warning: load average is {load_before[0]:.2f} before starting; other processes "
            "share the CPUs and will skew the numbers"
        )
    show_logs = False
    try:
        with asyncio.Runner(loop_factory=_new_loop) as runner:
            loop_name = type(runner.get_loop()).__module__
            results = runner.run(run(args, stack))
    except BenchError as exc:
        show_logs = True
        log(f"FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except BaseException:
        show_logs = True
        raise
    finally:
        for service in reversed(stack.services):
            try:
                service.stop()
            except Exception as exc:  # keep stopping the others, and still delete the temp dir
                log(f"could not stop {service.name} (pid {service.pid}): {exc!r}")
            if show_logs:
                log(f"--- last lines of {service.name} (pid {service.pid}) ---")
                print(service.tail(), file=sys.stderr)
        shutil.rmtree(stack.tmp, ignore_errors=True)

    info = machine()
    info["loadavg_before"] = [round(x, 2) for x in load_before]
    info["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    rows = overheads(results)
    settings = {
        "requests_per_case": args.requests,
        "seconds_per_case": args.seconds,
        "concurrency": args.concurrency,
        "stream_concurrency": args.stream_concurrency,
        "warmup_requests": args.warmup_requests,
        "warmup_seconds": args.warmup_seconds,
        "request_timeout_s": args.timeout,
        "client": f"aiohttp {aiohttp.__version__}, one pooled session, loop {loop_name}",
        "twelve_log_level": args.twelve_log_level,
        "twelve_env": args.twelve_env,
        "profiled": args.profile_twelve is not None,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    print(markdown(results, rows, info))
    write_json(args.output, info=info, settings=settings, results=results, rows=rows)
    log(f"wrote {args.output} ({settings['wall_seconds']}s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
