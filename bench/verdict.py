"""From repeated measurements to one figure per case and target, and the issue's pass/fail checks.

Each figure is the median over the repeats. The checks are ratios within the run (issue 7): this
machine is shared, so absolute figures drift by ±25% between runs while ratios hold.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

RSS_LIMIT_MIB = 150.0


def _median(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """{case: {target: {figure: median}}} over every repeat of `runs`."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        grouped[(run["case"], run["target"])].append(run)
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (case, target), repeats in grouped.items():
        figures: dict[str, Any] = {"repeats": len(repeats)}
        for key in ("rps", "p50_ms", "p99_ms", "ttfb_p50_ms", "ttfb_p99_ms"):
            if key in repeats[0]:
                figures[key] = _median([r[key] for r in repeats])
        figures["errors"] = sum(r.get("errors", 0) for r in repeats)
        figures["raw_latency"] = all(r.get("raw_latency", True) for r in repeats)
        processes = repeats[0]["cpu_ms_per_request"].keys()
        figures["cpu_ms_per_request"] = {
            p: _median([r["cpu_ms_per_request"][p] for r in repeats]) for p in processes
        }
        out[case][target] = figures
    return dict(out)


@dataclass(frozen=True)
class Check:
    name: str
    required: str
    measured: str
    passed: bool | None  # None: not measurable in this run


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def checks(summary: dict[str, dict[str, dict[str, Any]]], twelve_rss_mib: float) -> list[Check]:
    def fig(case: str, target: str, key: str) -> float | None:
        value = summary.get(case, {}).get(target, {}).get(key)
        return float(value) if value is not None else None

    out: list[Check] = []
    rps = _ratio(fig("chat c=16", "twelve", "rps"), fig("chat c=16", "lean", "rps"))
    out.append(Check("c=16 RPS vs lean", "≥ 70%", _pct(rps), None if rps is None else rps >= 0.7))
    p99 = _ratio(fig("chat c=16", "twelve", "p99_ms"), fig("chat c=16", "lean", "p99_ms"))
    out.append(Check("c=16 p99 vs lean", "≤ 2.0x", _x(p99), None if p99 is None else p99 <= 2))
    direct = fig("chat c=1", "direct", "p50_ms")
    lean, twelve = fig("chat c=1", "lean", "p50_ms"), fig("chat c=1", "twelve", "p50_ms")
    if direct is not None and lean is not None and twelve is not None:
        added, budget = twelve - direct, lean - direct + 0.3
        out.append(
            Check(
                "c=1 added p50",
                f"≤ lean + 0.3 ms ({budget:.2f} ms)",
                f"{added:.2f} ms",
                added <= budget,
            )
        )
    stream = _ratio(fig("stream c=16", "twelve", "rps"), fig("stream c=16", "lean", "rps"))
    out.append(
        Check(
            "stream c=16 RPS vs lean",
            "≥ 60%",
            _pct(stream),
            None if stream is None else stream >= 0.6,
        )
    )
    t_lean = fig("stream TTFB c=1", "lean", "ttfb_p50_ms")
    t_twelve = fig("stream TTFB c=1", "twelve", "ttfb_p50_ms")
    if t_lean is not None and t_twelve is not None:
        gap = t_twelve - t_lean
        out.append(Check("TTFB c=1 vs lean", "≤ +1 ms", f"{gap:+.2f} ms", gap <= 1.0))
    out.append(
        Check(
            "Twelve RSS after the run",
            f"≤ {RSS_LIMIT_MIB:.0f} MiB",
            f"{twelve_rss_mib:.0f} MiB",
            twelve_rss_mib <= RSS_LIMIT_MIB,
        )
    )
    return out


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"
