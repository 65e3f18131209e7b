"""Gateway overhead benchmark: one chat request sent directly to a fake upstream, then via Twelve.

    python -m bench.gateway [--requests N] [--seconds S] [--concurrency 1,16,64]

One run starts the fake upstream (`tests.fakes.upstream`) and `twelve serve` as child processes on
free loopback ports, with a throw-away data directory and a one-model configuration pointing at the
fake (`bench.stack`). It then drives load from this process through one pooled aiohttp session
(`bench.load`): non-streaming chat at each concurrency, first directly against the fake, then
through Twelve, and one streaming case (time to first byte and total) for both. Each case has a
warm-up and is bounded by a request count and a time limit. The result is a Markdown table on
stdout (progress goes to stderr) and `bench/results/latest.json` (`bench.report`). Both children
are stopped by PID and the temporary directory deleted, also on errors and Ctrl-C. The flags are
in `bench.options`.

This is a benchmark, not a test: it asserts nothing about the numbers. On a small machine the three
processes share the CPUs, so the CPU-per-request columns matter as much as the latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import aiohttp

from bench.chat import chat_request, sanity
from bench.load import Request, Samples, run_case
from bench.options import parse_args
from bench.procs import BenchError
from bench.progress import log
from bench.report import CaseResult, machine, markdown, overheads, write_json
from bench.stack import (
    TWELVE_MODEL,
    UPSTREAM_KEY,
    UPSTREAM_MODEL,
    Stack,
    issue_key,
    start_services,
    wait_until_ready,
)


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
    endpoints = start_services(
        stack,
        log_level=args.twelve_log_level,
        extra_env=args.twelve_env,
        profile=args.profile_twelve,
    )
    pool = max([*args.concurrency, args.stream_concurrency])
    connector = aiohttp.TCPConnector(limit=pool, limit_per_host=0, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trust_env=False, raise_for_status=False
    ) as session:
        direct = {
            stream: chat_request(
                f"{endpoints.upstream}/v1/chat/completions",
                UPSTREAM_MODEL,
                stream=stream,
                token=UPSTREAM_KEY,
            )
            for stream in (False, True)
        }
        await wait_until_ready(
            session, stack, endpoints, upstream_probe=direct[False], within=args.startup_timeout
        )
        key = await issue_key(session, endpoints)
        via = {
            stream: chat_request(
                f"{endpoints.twelve}/v1/chat/completions", TWELVE_MODEL, stream=stream, token=key
            )
            for stream in (False, True)
        }
        for stream in (False, True):
            await sanity(session, "upstream", direct[stream])
            await sanity(session, "twelve", via[stream])

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
