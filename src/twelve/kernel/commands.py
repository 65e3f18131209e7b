"""Marking a port method as a command: it changes state, so a retried call must not run it twice.

Kept apart from `remote.py` (which needs the HTTP stack) so that a module's `api.py` can mark its
Protocol's methods without importing any infrastructure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

COMMAND_MARK = "__twelve_command__"


def command(method: F) -> F:
    """Declare `method` a command: remote callers send it with an idempotency key."""
    setattr(method, COMMAND_MARK, True)
    return method


def is_command(method: Callable[..., Any]) -> bool:
    return bool(getattr(method, COMMAND_MARK, False))
