"""`make bench`: the fake upstream directly, the lean reference proxy and Twelve, in one run.

    python -m bench [--repeats 3] [--seconds 2] [--no-profile]

Starts the three processes (`bench.targets`), checks one answer from each, warms each up, then
for every repeat runs every case (`bench.cases`) against direct, lean and Twelve in turn, so that
drift on this shared machine hits all three alike. Writes `bench/results/latest.json` and
`latest.md` (`bench.report`) with the medians and the issue's pass/fail checks
(`bench.verdict`), then profiles Twelve under the c=16 load with py-spy (`bench.profile`).
Every process is stopped by PID at the end, also on errors and Ctrl-C. A benchmark, not a test:
it exits 0 whether the checks pass or not, and 1 only when it could not measure.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

from bench import cases, profile, report, verdict, wrk
from bench.procs import BenchError
from bench.progress import log
from bench.targets import Stack, Target, check, start_targets


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats per case")
    parser.add_argument("--seconds", type=int, default=2, help="seconds per measured run")
    parser.add_argument("--profile-seconds", type=int, default=8)
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    parser.add_argument("--output", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.seconds <= 0:
        parser.error("--repeats and --seconds must be positive")
    return args


def _measure(targets: list[Target], args: argparse.Namespace) -> list[dict[str, Any]]:
    upstream = targets[0].service
    for target in targets:
        check(target, stream=False)
        check(target, stream=True)
        for case in (cases.CASES[1], cases.CASES[3]):  # warm-up: plain and streaming at c=16
            cases.measure(case, target, upstream, 1)
    runs: list[dict[str, Any]] = []
    for repeat in range(1, args.repeats + 1):
        for case in cases.CASES:
            for target in targets:
                run = cases.measure(case, target, upstream, args.seconds)
                runs.append({"case": case.name, "target": target.name, "repeat": repeat, **run})
                shown = f"{run['rps']:,.0f} req/s" if "rps" in run else ""
                shown += f" p50 {run.get('p50_ms', run.get('ttfb_p50_ms'))} ms"
                log(f"repeat {repeat} · {case.name} · {target.name}: {shown}")
    return runs


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    started = time.monotonic()
    stack = Stack(Path(tempfile.mkdtemp(prefix="twelve-bench-")))
    failed = False
    try:
        targets = start_targets(stack)
        runs = _measure(targets, args)
        rss = {t.name: t.service.rss_bytes() / 2**20 for t in targets}
        summary = verdict.summarise(runs)
        checks = verdict.checks(summary, rss["twelve"])
        exe, raw = wrk.binary()
        doc = {
            "machine": report.machine(),
            "settings": {
                "repeats": args.repeats,
                "seconds": args.seconds,
                "wrk": Path(exe).name,
                "raw_latency": raw,
            },
            "rss_mib": {name: round(value, 1) for name, value in rss.items()},
            "summary": summary,
            "runs": runs,
        }
        written = report.write(doc, checks, args.output)
        if not args.no_profile:
            log("profiling Twelve under chat c=16 with py-spy")
            profiled = profile.record(targets[2], args.output, args.profile_seconds)
            if profiled:
                log(f"wrote {profiled}")
        print(written.read_text(encoding="utf-8"))
        log(f"wrote {written} and latest.json in {time.monotonic() - started:.0f}s")
        return 0
    except BenchError as exc:
        failed = True
        log(f"FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        stack.stop(show_logs=failed)


if __name__ == "__main__":
    sys.exit(main())
