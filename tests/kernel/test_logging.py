"""Logs: filtered before any processor runs, written by another thread, never lost at exit, in
JSON or a console format, with alembic's start-up chatter silenced unless the level is DEBUG."""

from __future__ import annotations

import io
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import structlog

import twelve.modules.gateway.adapters as gateway_adapters
from twelve.kernel.db import Database
from twelve.kernel.migrations import upgrade
from twelve.kernel.telemetry import logging as telemetry_logging
from twelve.kernel.telemetry.logging import get_logger, setup_logging, shutdown_logging


class RecordingStream(io.StringIO):
    """A stream that remembers which threads wrote to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: set[str] = set()

    def write(self, text: str) -> int:
        self.writers.add(threading.current_thread().name)
        return super().write(text)


@pytest.fixture
def stream() -> Iterator[RecordingStream]:
    out = RecordingStream()
    yield out
    shutdown_logging()
    structlog.contextvars.clear_contextvars()


def _lines(stream: io.StringIO) -> list[str]:
    shutdown_logging()  # drains the queue
    return stream.getvalue().splitlines()


def test_a_call_below_the_level_runs_no_processor(
    stream: RecordingStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def counting_trace_id() -> str | None:
        calls.append(1)
        return None

    monkeypatch.setattr(telemetry_logging, "current_trace_id", counting_trace_id)
    setup_logging("WARNING", stream=stream)
    log = get_logger("test.filtered")
    log.info("dropped", n=1)
    log.debug("dropped too")
    assert calls == []
    log.warning("kept")
    assert calls == [1]
    assert [orjson.loads(line)["event"] for line in _lines(stream)] == ["kept"]


def test_lines_are_written_by_another_thread_than_the_callers(stream: RecordingStream) -> None:
    setup_logging("INFO", stream=stream)
    get_logger("test.thread").info("hello", answer=42)
    [line] = _lines(stream)
    assert orjson.loads(line)["answer"] == 42
    assert stream.writers
    assert threading.current_thread().name not in stream.writers


def test_json_lines_carry_context_level_logger_and_exceptions(stream: RecordingStream) -> None:
    setup_logging("INFO", stream=stream)
    structlog.contextvars.bind_contextvars(request_id="req-1")
    log = get_logger("test.json")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("failed")
    logging.getLogger("some.library").warning("from %s", "stdlib")
    failed, foreign = (orjson.loads(line) for line in _lines(stream))

    assert failed["request_id"] == "req-1"
    assert (failed["level"], failed["logger"]) == ("error", "test.json")
    assert "RuntimeError: boom" in failed["exception"]
    assert "timestamp" in failed
    # A standard-library record keeps the caller's context although another thread renders it.
    assert foreign["event"] == "from stdlib"
    assert foreign["request_id"] == "req-1"
    assert (foreign["level"], foreign["logger"]) == ("warning", "some.library")


def test_console_format_is_one_readable_line(stream: RecordingStream) -> None:
    setup_logging("INFO", "console", stream=stream)
    get_logger("test.console").info("serving", port=8080)
    [line] = _lines(stream)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(line)
    assert "serving" in line
    assert "port=8080" in line
    assert "info" in line


def test_console_tracebacks_do_not_show_local_variables(stream: RecordingStream) -> None:
    setup_logging("INFO", "console", stream=stream)
    try:
        upstream_key = "sk-local-secret"
        raise RuntimeError(f"failed with a key of {len(upstream_key)} characters")
    except RuntimeError:
        get_logger("test.console").exception("failed")
    text = "\n".join(_lines(stream))
    assert "RuntimeError: failed with a key of 15 characters" in text
    assert "sk-local-secret" not in text


def test_a_library_line_keeps_the_time_it_was_logged(stream: RecordingStream) -> None:
    setup_logging("INFO", stream=stream)
    logging.getLogger("some.library").warning("first")
    get_logger("test.order").warning("second")
    first, second = (orjson.loads(line) for line in _lines(stream))
    assert (first["event"], second["event"]) == ("first", "second")
    assert first["timestamp"] <= second["timestamp"]


def test_unknown_format_or_level_is_refused() -> None:
    with pytest.raises(ValueError, match="log format"):
        setup_logging("INFO", "xml")
    with pytest.raises(ValueError, match="log level"):
        setup_logging("LOUD")


def _log_3000_lines_then(ending: str) -> tuple[int, list[int]]:
    """Run a process that logs lines 0..2999 and then runs `ending`: its status and the lines."""
    script = (
        "import os, signal\n"
        "from twelve.kernel.telemetry.logging import get_logger, setup_logging\n"
        "setup_logging('INFO')\n"
        "log = get_logger('test.exit')\n"
        "for i in range(3000):\n"
        "    log.info('line', i=i)\n"
        f"{ending}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    return done.returncode, [orjson.loads(line)["i"] for line in done.stderr.splitlines()]


def test_no_line_is_lost_when_the_process_exits() -> None:
    assert _log_3000_lines_then("pass") == (0, list(range(3000)))


def test_no_line_is_lost_when_the_process_is_terminated() -> None:
    status, numbers = _log_3000_lines_then("os.kill(os.getpid(), signal.SIGTERM); signal.pause()")
    assert status == -signal.SIGTERM  # it still ends as SIGTERM ends a process
    assert numbers == list(range(3000))


async def _migrate(tmp_path: Path) -> None:
    database = Database("gateway", f"sqlite:///{tmp_path / 'gateway.db'}")
    try:
        await upgrade(database, Path(gateway_adapters.__file__).parent / "migrations")
    finally:
        await database.dispose()


@pytest.mark.parametrize(("level", "chatter"), [("INFO", False), ("DEBUG", True)])
async def test_alembic_is_quiet_unless_the_level_is_debug(
    stream: RecordingStream, tmp_path: Path, level: str, chatter: bool
) -> None:
    setup_logging(level, stream=stream)
    await _migrate(tmp_path)
    alembic = [
        line for line in _lines(stream) if orjson.loads(line)["logger"].startswith("alembic")
    ]
    assert bool(alembic) is chatter, alembic


def test_after_shutdown_lines_are_written_at_once_and_nothing_piles_up(
    stream: RecordingStream,
) -> None:
    setup_logging("INFO", stream=stream)
    shutdown_logging()
    get_logger("twelve.test").info("late structlog line")
    logging.getLogger("late.stdlib").warning("late stdlib line")
    assert telemetry_logging.QUEUE.empty()
    events = [orjson.loads(line)["event"] for line in stream.getvalue().splitlines()]
    assert events == ["late structlog line", "late stdlib line"]
    assert stream.writers == {threading.current_thread().name}
