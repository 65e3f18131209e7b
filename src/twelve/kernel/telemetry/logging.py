"""Structured logs: one JSON object per line (or a readable console line), with the request id and
trace id bound per request, written off the event loop.

Cost is the point here: this runs for every request. A call below the level returns at once (the
bound logger's method is a no-op, so no processor runs). A call at or above it runs only the
processors that need the caller's context (context variables, trace id, timestamp, the exception
being handled) and puts the event on a queue: no log record, no lock, no write. A writer thread
(`LogWriter`) wakes a few times a second, renders what has queued up and writes it in one go, so
the event loop never waits on stderr. `shutdown_logging` (also run at exit, and on SIGTERM)
drains the queue, so no line is lost. Standard-library loggers (uvicorn, sqlalchemy, alembic)
reach the same queue through a queue handler and come out in the same format.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import logging.handlers
import signal
import sys
import threading
from types import FrameType
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict

from twelve.kernel.telemetry.log_writer import QUEUE, LogWriter, renderers
from twelve.kernel.telemetry.tracing import current_trace_id

LogFormat = Literal["json", "console"]
FORMATS: tuple[LogFormat, ...] = ("json", "console")
# Loggers whose INFO lines are noise at every start (alembic: "Context impl SQLiteImpl", ...).
QUIET_BELOW_DEBUG = ("alembic",)
_CONTEXT = "twelve_context"  # a foreign record's caller context, captured before the queue

_writer: LogWriter | None = None
# After `shutdown_logging`, the last writer writes each line at once (nothing else would drain
# the queue, and it must not grow while a process winds down or between set-ups).
_retired: LogWriter | None = None


def _deliver(item: Any) -> None:
    QUEUE.put(item)
    if _writer is None and _retired is not None:
        _retired.drain()


def _add_trace_id(_logger: Any, _name: str, event: EventDict) -> EventDict:
    if "trace_id" not in event:
        trace_id = current_trace_id()
        if trace_id:
            event["trace_id"] = trace_id
    return event


def _capture_exc_info(_logger: Any, _name: str, event: EventDict) -> EventDict:
    # `exc_info=True` means "the exception being handled", which only the caller's thread knows.
    if event.get("exc_info") is True:
        event["exc_info"] = sys.exc_info()
    return event


def _hand_off(
    _logger: Any, _name: str, event: EventDict
) -> tuple[tuple[EventDict], dict[str, Any]]:
    return (event,), {}  # the queue logger's method gets the event dict itself


def _merge_captured_context(_logger: Any, _name: str, event: EventDict) -> EventDict:
    record = event.get("_record")
    for key, value in getattr(record, _CONTEXT, {}).items():
        event.setdefault(key, value)
    if record is not None:  # when it was logged, not when the writer got to it
        created = dt.datetime.fromtimestamp(record.created, dt.UTC)
        event["timestamp"] = created.isoformat().replace("+00:00", "Z")
    return event


class _QueueLogger:
    """structlog's end of the line: every level's method puts the processed event on the queue."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _put(self, event: EventDict) -> None:
        _deliver(event)

    msg = debug = info = warning = warn = error = critical = exception = fatal = _put


def _queue_logger(*args: Any) -> _QueueLogger:
    return _QueueLogger(args[0] if args and isinstance(args[0], str) else "")


class _DeferredQueueHandler(logging.handlers.QueueHandler):
    """Queues standard-library records with the caller's context, unformatted."""

    def enqueue(self, record: logging.LogRecord) -> None:
        _deliver(record)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        context = structlog.contextvars.get_contextvars()
        trace_id = current_trace_id()
        if trace_id:
            context.setdefault("trace_id", trace_id)
        setattr(record, _CONTEXT, context)
        record.msg, record.args = record.getMessage(), None
        return record


def setup_logging(level: str = "INFO", fmt: str = "json", *, stream: TextIO | None = None) -> None:
    """Route every log line of this process through one queue to `stream` (default stderr).

    `level` is a standard level name; `fmt` is "json" (machines) or "console" (people).
    Calling it again replaces the previous set-up, after writing out what it had queued.
    """
    global _writer, _retired
    levels = logging.getLevelNamesMapping()
    if level.upper() not in levels:
        raise ValueError(f"unknown log level {level!r}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r} (expected one of {', '.join(FORMATS)})")
    number = levels[level.upper()]
    out = stream if stream is not None else sys.stderr
    shutdown_logging()

    context: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_id,
    ]
    # Changed in place: a logger cached under an earlier set-up keeps this very list, so it
    # follows the new chain (and `structlog.testing.capture_logs`, which edits it in place).
    processors = structlog.get_config()["processors"]
    processors[:] = [*context, _capture_exc_info, _hand_off]
    structlog.configure(
        processors=processors,
        logger_factory=_queue_logger,
        # Filters by level before anything else: a call below it is a no-op method.
        wrapper_class=structlog.make_filtering_bound_logger(number),
        cache_logger_on_first_use=True,
    )
    foreign = structlog.stdlib.ProcessorFormatter(
        # On the writer thread: the caller's context and time come from the record.
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _merge_captured_context,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *renderers(fmt, out),
        ],
    )
    _writer, _retired = LogWriter(out, renderers(fmt, out), foreign), None
    _flush_on_sigterm()

    root = logging.getLogger()
    root.handlers[:] = [_DeferredQueueHandler(QUEUE)]
    root.setLevel(number)
    for name in QUIET_BELOW_DEBUG:
        quiet = logging.NOTSET if number <= logging.DEBUG else logging.WARNING
        logging.getLogger(name).setLevel(quiet)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Requests are logged once, by our own middleware, with ids and timings.
    logging.getLogger("uvicorn.access").disabled = True


def shutdown_logging() -> None:
    """Write out every queued line and stop the writer thread (safe to call more than once)."""
    global _writer, _retired
    writer, _writer = _writer, None
    if writer is not None:
        writer.stop()
        _retired = writer


def _flush_then_terminate(signum: int, _frame: FrameType | None) -> None:
    shutdown_logging()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)  # end as SIGTERM would have ended it: same exit status


def _flush_on_sigterm() -> None:
    # SIGTERM's default action ends the process without running `atexit`, which would lose the
    # lines still queued. Installed only where nobody handles SIGTERM yet; uvicorn restores the
    # handler it found and raises the signal again after its graceful shutdown, so this runs
    # once the server's last lines are queued.
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _flush_then_terminate)


# Runs before the interpreter stops its threads, so the last lines of a process are written.
atexit.register(shutdown_logging)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
