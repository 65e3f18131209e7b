"""Structured logs: one JSON object per line (or a readable console line), with the request id and
trace id bound per request, written off the event loop.

Cost is the point here: this runs for every request. A call below the level returns at once (the
bound logger's method is a no-op, so no processor runs). A call at or above it runs the few
processors that need the caller's context (context variables, trace id, the exception being
handled) and puts the record on a queue; a listener thread renders it and writes it, so the event
loop never waits on stderr. `shutdown_logging` (also run at exit) drains the queue, so no line is
lost. Standard-library loggers (uvicorn, sqlalchemy, alembic) go through the same queue and
renderer, so every line a process writes has one format.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from typing import Any, Literal, TextIO

import orjson
import structlog
from structlog.typing import EventDict

from twelve.kernel.telemetry.tracing import current_trace_id

LogFormat = Literal["json", "console"]
FORMATS: tuple[LogFormat, ...] = ("json", "console")
# Loggers whose INFO lines are noise at every start (alembic: "Context impl SQLiteImpl", ...).
QUIET_BELOW_DEBUG = ("alembic",)
_CONTEXT = "twelve_context"  # a foreign record's caller context, captured before the queue

_listener: logging.handlers.QueueListener | None = None


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


def _merge_captured_context(_logger: Any, _name: str, event: EventDict) -> EventDict:
    record = event.get("_record")
    for key, value in getattr(record, _CONTEXT, {}).items():
        event.setdefault(key, value)
    return event


class _DeferredQueueHandler(logging.handlers.QueueHandler):
    """Queues records unformatted: rendering happens on the listener thread, not the caller's."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not isinstance(record.msg, dict):  # a standard-library logger's record (rare)
            context = structlog.contextvars.get_contextvars()
            trace_id = current_trace_id()
            if trace_id:
                context.setdefault("trace_id", trace_id)
            setattr(record, _CONTEXT, context)
            record.msg, record.args = record.getMessage(), None
        return record


def _dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default).decode()


def _renderers(fmt: LogFormat, stream: TextIO) -> list[Any]:
    if fmt == "console":
        return [structlog.dev.ConsoleRenderer(colors=stream.isatty())]
    return [
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(serializer=_dumps),
    ]


def setup_logging(level: str = "INFO", fmt: str = "json", *, stream: TextIO | None = None) -> None:
    """Route every log line of this process through one queue to `stream` (default stderr).

    `level` is a standard level name; `fmt` is "json" (machines) or "console" (people).
    Calling it again replaces the previous set-up, after writing out what it had queued.
    """
    global _listener
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
    structlog.configure(
        processors=[
            *context,
            _capture_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        # Filters by level before anything else: a call below it is a no-op method.
        wrapper_class=structlog.make_filtering_bound_logger(number),
        cache_logger_on_first_use=True,
    )
    writer = logging.StreamHandler(out)
    writer.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[_merge_captured_context, *context],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_renderers(fmt, out),
            ],
        )
    )
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, writer)
    _listener.start()

    root = logging.getLogger()
    root.handlers[:] = [_DeferredQueueHandler(records)]
    root.setLevel(number)
    for name in QUIET_BELOW_DEBUG:
        logging.getLogger(name).setLevel(
            logging.NOTSET if number <= logging.DEBUG else logging.WARNING
        )
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Requests are logged once, by our own middleware, with ids and timings.
    logging.getLogger("uvicorn.access").disabled = True


def shutdown_logging() -> None:
    """Write out every queued line and stop the writer thread (safe to call more than once)."""
    global _listener
    listener, _listener = _listener, None
    if listener is not None:
        listener.stop()


# Runs before the interpreter stops its threads, so the last lines of a process are written.
atexit.register(shutdown_logging)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
