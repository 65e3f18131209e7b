"""A start-up failure told as one line that names the setting to change, never a traceback."""

from __future__ import annotations

from twelve.app.settings import Settings
from twelve.kernel.db import Database


class StartupError(Exception):
    """The process cannot start; the message is one line naming what to change."""


def database_problem(settings: Settings, db: Database, exc: BaseException) -> StartupError:
    """A module's database cannot be opened or migrated."""
    return StartupError(
        f"{_database_variable(settings, db.name)}: cannot use the {db.name} database "
        f"{db.display_url}: {_reason(exc)}"
    )


def _database_variable(settings: Settings, module: str) -> str:
    """The setting that chose a module's database, for a message that says what to change."""
    if settings.module_database_url(module):
        return f"TWELVE_{module.upper()}_DATABASE_URL"
    return "TWELVE_DATABASE_URL" if settings.database_url else "TWELVE_DATA_DIR"


def _reason(exc: BaseException) -> str:
    # The driver's own message is the useful part ("password authentication failed for user
    # x"); SQLAlchemy wraps it with a link and the statement, which say nothing to an operator.
    cause: BaseException = exc
    while (inner := getattr(cause, "orig", None) or cause.__cause__) is not None:
        cause = inner
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__
