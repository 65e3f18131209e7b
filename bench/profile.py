"""A py-spy profile of Twelve under the c=16 chat load, summarised as the functions that hold
the CPU (own time and time including callees) and written to `results/profile.md`.

py-spy samples the running process from outside (`--nonblocking`, so it never pauses it) while
wrk drives load; the raw collapsed stacks go to `results/profile.txt` for a flame graph
(`flamegraph.pl` or speedscope read them).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench import wrk
from bench.progress import log
from bench.targets import MODEL, Target

PY_SPY = Path(sys.executable).parent / "py-spy"
TOP = 25


def _frame(frame: str) -> tuple[str, str]:
    """("function (file)", package) for one collapsed frame "function (path/file.py:line)"."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    package = where.split("/", 1)[0].removesuffix(".py") if "/" in where else where
    if package == "twelve":
        package = "/".join(where.split("/")[:3]).removesuffix(".py")  # twelve/kernel/edge
    return f"{name} ({where})", package


def _table(title: str, counts: Counter[str], samples: int, top: int = TOP) -> list[str]:
    rows = [f"| {n / samples * 100:.1f}% | `{key}` |" for key, n in counts.most_common(top)]
    return ["", f"| {title} | |", "|--:|---|", *rows]


def summarise(collapsed: str, requests: int) -> tuple[str, str]:
    """The Markdown summary, and the stacks collapsed per function (no line numbers)."""
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    stacks: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        n = int(count)
        samples += n
        own[frames[-1][0]] += n
        packages[frames[-1][1]] += n
        stacks[";".join(name for name, _ in frames)] += n
        for name in {name for name, package in frames if package.startswith("twelve/")}:
            inclusive[name] += n
    if not samples:
        return "py-spy recorded no samples.\n", ""
    out = [
        f"py-spy `--gil` (samples of the thread holding the GIL, so Python CPU), {samples} samples "
        f"at 250 Hz while wrk sent {requests} chat requests at c=16. Own time is the frame on top "
        "of the stack (C code it calls is counted to it: the event loop's own work shows as "
        "`Runner.run`).",
        *_table("own time by package", packages, samples),
        *_table("own time by function", own, samples),
        *_table("including callees, Twelve's functions", inclusive, samples),
    ]
    folded = "".join(f"{stack} {n}\n" for stack, n in stacks.most_common())
    return "\n".join(out) + "\n", folded


def record(twelve: Target, directory: Path, seconds: int) -> Path | None:
    """Profile `twelve` under c=16 chat load for `seconds`; None when py-spy is unavailable."""
    exe = str(PY_SPY) if PY_SPY.exists() else shutil.which("py-spy")
    if exe is None:
        log("py-spy is not installed; no profile (pip install py-spy)")
        return None
    raw = directory / "profile.txt"
    argv = [exe, "record", "--pid", str(twelve.service.pid), "--duration", str(seconds + 1)]
    argv += ["--rate", "250", "--gil", "--nonblocking", "--format", "raw", "--output", str(raw)]
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    load = wrk.run(twelve.url, key=twelve.key, model=MODEL, stream=False, conns=16, seconds=seconds)
    _, err = spy.communicate(timeout=seconds + 30)
    if spy.returncode != 0 or not raw.exists():
        log(f"py-spy failed ({spy.returncode}): {err[-300:]}")
        return None
    summary = directory / "profile.md"
    text, folded = summarise(raw.read_text(), load.requests)
    summary.write_text(text, encoding="utf-8")
    raw.write_text(folded, encoding="utf-8")  # per function: a tenth of the size
    return summary
