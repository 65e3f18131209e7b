"""The log writer thread: renders queued log events and writes them, in batches, off the loop.

`QUEUE` holds structlog event dicts (already carrying the caller's context) and standard-library
`LogRecord`s. The writer does not wake per event: it sleeps `INTERVAL`, then renders everything
queued and writes it with one call, so a request costs a queue put and no thread switch, and
the event loop never blocks on the stream. `stop` writes out what is left before returning.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from typing import Any, TextIO

import orjson
import structlog

INTERVAL = 0.05  # seconds between batches: how late a line may appear
QUEUE: queue.SimpleQueue[Any] = queue.SimpleQueue()


def _dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default).decode()


def renderers(fmt: str, stream: TextIO) -> list[Any]:
    """The processors that turn an event dict into its line."""
    if fmt == "console":
        # Plain tracebacks: a rich one shows local variables, and those can hold credentials.
        plain = structlog.dev.plain_traceback
        return [structlog.dev.ConsoleRenderer(colors=stream.isatty(), exception_formatter=plain)]
    return [
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(serializer=_dumps),
    ]


class LogWriter:
    """One thread writing `QUEUE` to `stream`, started on creation."""

    def __init__(self, stream: TextIO, render: list[Any], foreign: logging.Formatter) -> None:
        self._stream = stream
        self._render = render
        self._foreign = foreign
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="twelve-log-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.wait(INTERVAL):
            self.drain()
        self.drain()

    def drain(self) -> None:
        lines: list[str] = []
        while True:
            try:
                item = QUEUE.get_nowait()
            except queue.Empty:
                break
            try:
                lines.append(self._line(item))
            except Exception as exc:  # a bad event must not stop the writer
                lines.append(f"log event could not be rendered: {exc!r}")
        if lines and not getattr(self._stream, "closed", False):
            try:
                self._stream.write("\n".join(lines) + "\n")
                self._stream.flush()
            except (OSError, ValueError) as exc:  # closed stream: nowhere left to say it
                print(
                    f"twelve: could not write {len(lines)} log lines: {exc!r}", file=sys.__stderr__
                )

    def _line(self, item: Any) -> str:
        if isinstance(item, logging.LogRecord):
            return self._foreign.format(item)
        event = item
        for render in self._render:
            event = render(None, event.get("level", "info"), event)
        return str(event)
