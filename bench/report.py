"""Results: per-case summaries, Twelve-vs-direct overhead, the Markdown table and the JSON file."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.load import Samples
from bench.stats import mean, percentile


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


@dataclass(frozen=True)
class CaseResult:
    """One measured case, in milliseconds and requests per second."""

    case: str  # "chat" or "chat-stream"
    target: str  # "direct" or "twelve"
    concurrency: int
    stream: bool
    issued: int
    ok: int
    errors: int
    elapsed_s: float
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    max_ms: float | None
    ttfb_p50_ms: float | None
    ttfb_p99_ms: float | None
    # CPU time each process spent during the case, per successful request.
    cpu_ms_per_request: dict[str, float | None]
    error_samples: list[str] = field(default_factory=list)

    @classmethod
    def from_samples(
        cls,
        *,
        case: str,
        target: str,
        concurrency: int,
        stream: bool,
        samples: Samples,
        cpu_seconds: dict[str, float],
    ) -> CaseResult:
        ok = len(samples.latencies)
        return cls(
            case=case,
            target=target,
            concurrency=concurrency,
            stream=stream,
            issued=samples.issued,
            ok=ok,
            errors=samples.errors,
            elapsed_s=round(samples.elapsed, 4),
            rps=round(ok / samples.elapsed, 1) if samples.elapsed > 0 else 0.0,
            p50_ms=_ms(percentile(samples.latencies, 50)),
            p99_ms=_ms(percentile(samples.latencies, 99)),
            mean_ms=_ms(mean(samples.latencies)),
            max_ms=_ms(max(samples.latencies, default=None)),
            ttfb_p50_ms=_ms(percentile(samples.ttfb, 50)),
            ttfb_p99_ms=_ms(percentile(samples.ttfb, 99)),
            cpu_ms_per_request={
                name: (round(used * 1000.0 / ok, 3) if ok else None)
                for name, used in cpu_seconds.items()
            },
            error_samples=list(samples.error_samples),
        )


@dataclass(frozen=True)
class Overhead:
    """Twelve against the direct call for the same case and concurrency."""

    case: str
    concurrency: int
    direct_p50_ms: float | None
    twelve_p50_ms: float | None
    p50_overhead_ms: float | None
    p99_overhead_ms: float | None
    ttfb_p50_overhead_ms: float | None
    direct_rps: float
    twelve_rps: float
    throughput_ratio: float | None  # twelve req/s ÷ direct req/s


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def overheads(results: Sequence[CaseResult]) -> list[Overhead]:
    by_key = {(r.case, r.concurrency, r.target): r for r in results}
    rows: list[Overhead] = []
    for r in results:
        if r.target != "twelve" or (r.case, r.concurrency, "direct") not in by_key:
            continue
        d = by_key[(r.case, r.concurrency, "direct")]
        rows.append(
            Overhead(
                case=r.case,
                concurrency=r.concurrency,
                direct_p50_ms=d.p50_ms,
                twelve_p50_ms=r.p50_ms,
                p50_overhead_ms=_minus(r.p50_ms, d.p50_ms),
                p99_overhead_ms=_minus(r.p99_ms, d.p99_ms),
                ttfb_p50_overhead_ms=_minus(r.ttfb_p50_ms, d.ttfb_p50_ms),
                direct_rps=d.rps,
                twelve_rps=r.rps,
                throughput_ratio=round(r.rps / d.rps, 3) if d.rps else None,
            )
        )
    return rows


def machine() -> dict[str, Any]:
    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": cpu_model,
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def markdown(results: Sequence[CaseResult], rows: Sequence[Overhead], info: dict[str, Any]) -> str:
    out = [
        f"## Twelve gateway overhead — {info['date']}",
        "",
        f"{info['cpu_model']} · {info['nproc']} CPUs · Python {info['python']} · "
        f"load average before/after: {info['loadavg_before'][0]:.2f} / "
        f"{info['loadavg_after'][0]:.2f}",
        "",
        "| Case | Target | Conc. | OK | Errors | req/s | p50 ms | p99 ms "
        "| TTFB p50 ms | TTFB p99 ms | CPU ms/req bench · upstream · twelve |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        cpu = " · ".join(_f(r.cpu_ms_per_request.get(k)) for k in ("bench", "upstream", "twelve"))
        out.append(
            f"| {r.case} | {r.target} | {r.concurrency} | {r.ok} | {r.errors} | {r.rps:.0f} "
            f"| {_f(r.p50_ms)} | {_f(r.p99_ms)} | {_f(r.ttfb_p50_ms)} | {_f(r.ttfb_p99_ms)} "
            f"| {cpu} |"
        )
    out += [
        "",
        "### Overhead (Twelve minus direct)",
        "",
        "| Case | Conc. | direct p50 ms | Twelve p50 ms | Δ p50 ms | Δ p99 ms | Δ TTFB p50 ms "
        "| direct req/s | Twelve req/s | throughput ratio |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for o in rows:
        out.append(
            f"| {o.case} | {o.concurrency} | {_f(o.direct_p50_ms)} | {_f(o.twelve_p50_ms)} "
            f"| {_signed(o.p50_overhead_ms)} | {_signed(o.p99_overhead_ms)} "
            f"| {_signed(o.ttfb_p50_overhead_ms)} | {o.direct_rps:.0f} | {o.twelve_rps:.0f} "
            f"| {_f(o.throughput_ratio, 3)} |"
        )
    return "\n".join(out) + "\n"


def write_json(
    path: Path,
    *,
    info: dict[str, Any],
    settings: dict[str, Any],
    results: Sequence[CaseResult],
    rows: Sequence[Overhead],
) -> None:
    document = {
        "machine": info,
        "settings": settings,
        "cases": [asdict(r) for r in results],
        "overhead": [asdict(o) for o in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    tmp.replace(path)
