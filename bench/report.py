"""The results: `latest.json` (every repeat, the medians, the checks) and `latest.md` (the table
for the README)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from bench.verdict import Check

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_NAMES = {
    "direct": "direct to the fake upstream",
    "lean": "lean aiohttp pass-through",
    "twelve": "Twelve as shipped",
}


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
        "python": sys.version.split()[0],
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def _f(value: Any, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def markdown(doc: dict[str, Any]) -> str:
    s, info, settings = doc["summary"], doc["machine"], doc["settings"]

    def fig(case: str, target: str, key: str) -> Any:
        return s.get(case, {}).get(target, {}).get(key)

    direct_p50 = fig("chat c=1", "direct", "p50_ms")
    lean_rps = {c: fig(c, "lean", "rps") for c in ("chat c=16", "stream c=16")}
    latencies = "raw" if settings["raw_latency"] else "with stock wrk's coordinated-omission fix"
    out = [
        f"`make bench`, {info['date']}: {info['cpu_model']}, {info['nproc']} CPUs, Python "
        f"{info['python']}; {settings['wrk']} (latencies {latencies}), "
        f"{settings['repeats']} interleaved repeats of {settings['seconds']} s per case, medians "
        "shown. Loopback, fake upstream; all processes share the 2 CPUs.",
        "",
        "| target | c=1 RPS | c=1 added p50 | c=16 RPS | c=16 p99 | c=64 RPS | stream c=16 RPS "
        "| TTFB c=1 p50 | CPU ms/req (c=16) | RSS |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for target in ("direct", "lean", "twelve"):
        p50 = fig("chat c=1", target, "p50_ms")
        added = None if p50 is None or direct_p50 is None else p50 - direct_p50
        rps16, stream16 = fig("chat c=16", target, "rps"), fig("stream c=16", target, "rps")
        share = ""
        if target == "twelve" and rps16 and lean_rps["chat c=16"]:
            share = f" ({rps16 / lean_rps['chat c=16'] * 100:.0f}%)"
        stream_share = ""
        if target == "twelve" and stream16 and lean_rps["stream c=16"]:
            stream_share = f" ({stream16 / lean_rps['stream c=16'] * 100:.0f}%)"
        cpu = (fig("chat c=16", target, "cpu_ms_per_request") or {}).get(
            "upstream" if target == "direct" else target
        )
        rss = doc["rss_mib"].get(target)
        out.append(
            f"| {TARGET_NAMES[target]} | {_f(fig('chat c=1', target, 'rps'))} "
            f"| {'-' if target == 'direct' else _f(added, '{:+.2f} ms')} "
            f"| {_f(rps16)}{share} | {_f(fig('chat c=16', target, 'p99_ms'), '{:.1f} ms')} "
            f"| {_f(fig('chat c=64', target, 'rps'))} | {_f(stream16)}{stream_share} "
            f"| {_f(fig('stream TTFB c=1', target, 'ttfb_p50_ms'), '{:.2f} ms')} "
            f"| {_f(cpu, '{:.2f}')} | {_f(rss, '{:.0f} MiB')} |"
        )
    out += ["", "| check (issue 7) | required | measured | result |", "|---|---|---|---|"]
    for check in doc["checks"]:
        verdict = {True: "pass", False: "**FAIL**", None: "not measured"}[check["passed"]]
        out.append(f"| {check['name']} | {check['required']} | {check['measured']} | {verdict} |")
    return "\n".join(out) + "\n"


def write(doc: dict[str, Any], checks: list[Check], directory: Path = RESULTS) -> Path:
    doc = {**doc, "checks": [asdict(c) for c in checks]}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    (directory / "latest.md").write_text(markdown(doc), encoding="utf-8")
    return directory / "latest.md"
