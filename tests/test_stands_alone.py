"""The repository stands alone: a fresh clone has everything `make test` reads, says what it
needs from the machine, and installs only what each command needs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THIS = Path(__file__).resolve()


def pins(lock: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / lock).read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.strip().split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def declared(group: str | None) -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] if group is None else project["optional-dependencies"][group]
    out = {}
    for spec in specs:
        name, version = spec.split("==")
        out[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = version
    return out


# Spelled in pieces so that this file, which looks for them, does not contain them itself.
OUTSIDE = ("../" + "shared", "/work/" + "shared")


def test_nothing_reads_files_outside_the_repository() -> None:
    offenders = []
    for path in [ROOT / "Makefile", *(ROOT / "src").rglob("*"), *(ROOT / "tests").rglob("*.py")]:
        if path.is_file() and path != THIS and path.suffix in {"", ".py", ".yaml", ".ini"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            if any(reference in text for reference in OUTSIDE):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
    spec = ROOT / "tests" / "support" / "openai-openapi"
    assert (spec / "openapi.json").stat().st_size > 1_000_000
    assert "MIT License" in (spec / "LICENSE").read_text()


def test_the_runtime_lock_pins_what_serving_needs_and_nothing_more() -> None:
    runtime = pins("requirements.lock")
    assert {name: runtime.get(name) for name in declared(None)} == declared(None)
    tools = {"pytest", "mypy", "ruff", "import-linter", "hypothesis", "openai", "schemathesis"}
    assert tools.isdisjoint(runtime)


def test_the_dev_lock_adds_the_tools_on_top_of_the_runtime_lock() -> None:
    assert "-r requirements.lock" in (ROOT / "requirements-dev.lock").read_text().splitlines()
    dev = pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in declared("dev")} == declared("dev")
    assert dev["schemathesis"] == "4.32.5"
    assert set(dev).isdisjoint(pins("requirements.lock"))  # one pin per package


def make_plan(target: str) -> str:
    done = subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_make_run_installs_only_the_runtime_lock_and_make_test_both() -> None:
    run = make_plan("run")
    assert "-r requirements.lock" in run and "requirements-dev.lock" not in run
    test = make_plan("test")
    assert "-r requirements.lock" in test and "-r requirements-dev.lock" in test


def test_make_refuses_a_python_older_than_3_11(tmp_path: Path) -> None:
    old = tmp_path / "python3.9"  # answers like an old interpreter: the version check fails
    old.write_text("#!/bin/sh\necho 'Python 3.9.18'; exit 1\n")
    old.chmod(0o755)
    done = subprocess.run(
        ["make", "check-python", f"PYTHON={old}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Python 3.11 or newer" in done.stderr and "PYTHON=" in done.stderr
    ok = subprocess.run(
        ["make", "check-python", f"PYTHON={sys.executable}"], cwd=ROOT, capture_output=True
    )
    assert ok.returncode == 0


@pytest.mark.parametrize("ci", [False, True], ids=["laptop", "ci"])
def test_without_postgresql_the_tests_say_so_in_one_line(ci: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["TWELVE_TEST_PG_DSN"] = "postgresql://postgres@127.0.0.1:1/postgres"  # nothing listens
    if ci:
        env["CI"] = "true"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/modules/credits"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if "TWELVE_TEST_PG_DSN" in line]
    assert lines, done.stdout
    # One line per test file that needs PostgreSQL, and the cause nowhere else.
    rest = [line for line in done.stdout.splitlines() if "TWELVE_TEST_PG_DSN" not in line]
    assert "ConnectionRefusedError: [Errno 111]" not in "\n".join(rest)
    if ci:
        assert done.returncode == 1, done.stdout  # loud: PostgreSQL tests fail on CI
        assert all("CI needs PostgreSQL" in line for line in lines)
        assert "Traceback" not in done.stdout
    else:
        assert done.returncode == 0, done.stdout
        assert all(line.startswith("SKIPPED") for line in lines)
