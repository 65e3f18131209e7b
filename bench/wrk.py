"""The native load generator: one bounded wrk run with `chat.lua`, parsed into a `WrkResult`.

The patched wrk (`build_wrk_raw.sh`, installed as `.venv/bin/wrk-raw` by `make bench`) keeps raw
latency samples; Debian's stock wrk is the fallback, and its results are flagged
`co_corrected` (stock wrk adds synthetic samples for coordinated omission, which inflates p99).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.procs import BenchError

SCRIPT = Path(__file__).resolve().parent / "chat.lua"
RAW_WRK = Path(sys.executable).parent / "wrk-raw"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # connect, read, write, timeouts and non-2xx answers
    raw_latency: bool  # False: the histogram includes stock wrk's coordinated-omission samples
    cpu_ms: float  # wrk's own CPU time for the run


def binary() -> tuple[str, bool]:
    """The wrk to use and whether it keeps raw latencies."""
    if RAW_WRK.exists():
        return str(RAW_WRK), True
    stock = shutil.which("wrk")
    if stock is None:
        raise BenchError("wrk is not installed (`make bench` installs it: apt-get install -y wrk)")
    return stock, False


def run(url: str, *, key: str, model: str, stream: bool, conns: int, seconds: int) -> WrkResult:
    exe, raw = binary()
    env = {
        **os.environ,
        "BENCH_KEY": key,
        "BENCH_MODEL": model,
        "BENCH_STREAM": "1" if stream else "0",
        "BENCH_CONNS": str(conns),
    }
    if raw:
        env["WRK_RAW_LATENCY"] = "1"
    argv = [exe, "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", "-s", str(SCRIPT), url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(
            f"wrk failed ({done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}"
        )
    fields = dict(item.split("=", 1) for item in line.split()[1:])
    errors = sum(int(fields[k]) for k in fields if k.startswith("err_"))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return WrkResult(
        requests=int(fields["requests"]),
        seconds=float(fields["secs"]),
        rps=float(fields["rps"]),
        p50_ms=float(fields["p50_ms"]),
        p99_ms=float(fields["p99_ms"]),
        errors=errors,
        raw_latency=raw and fields.get("co_corrected") != "1",
        cpu_ms=round(cpu * 1000, 1),
    )
