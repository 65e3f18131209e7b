"""Settings problems as one line each, naming the variable: what every command prints and exits on.

`load_settings` is the one way a command reads its settings; `settings_or_exit` prints each problem
(`twelve: configuration error: TWELVE_PORT: must be ≤ 65535 (got 99999)`) and exits 2, never a
pydantic dump or a traceback. `ensure_data_dir` checks the one setting that needs the file system.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from twelve.app.settings import Settings

ENV_PREFIX = "TWELVE_"
# What a settings or config-file problem is introduced with (busy ports and unreachable
# databases are not configuration errors as such, and go without it).
CONFIGURATION = "configuration error: "
# Fields whose values are never repeated back, even when refused.
_SECRETS = frozenset({"admin_key", "internal_key", "metrics_token"})
# Fields whose values may carry a password (a DSN): shown without it.
_DSNS = frozenset({"database_url"})  # and every module's `<module>_database_url`


class SettingsError(Exception):
    """Settings that cannot be used: one line per problem, each naming its variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load_settings(
    options: Mapping[str, object] | None = None, option_names: Mapping[str, str] | None = None
) -> Settings:
    """Settings from the environment, with command-line `options` (None = not given) on top.

    `option_names` maps a field to the command-line option that set it (`modules` ->
    `--modules`), so a problem names what the user actually typed.
    """
    given = {k: v for k, v in (options or {}).items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        names = {k: v for k, v in (option_names or {}).items() if k in given}
        raise SettingsError(describe(exc, names)) from None


def settings_or_exit(
    options: Mapping[str, object] | None = None, option_names: Mapping[str, str] | None = None
) -> Settings:
    try:
        return load_settings(options, option_names)
    except SettingsError as exc:
        exit_with(exc.problems, prefix=CONFIGURATION)


def exit_with(problems: list[str], *, prefix: str = "", code: int = 2) -> NoReturn:
    """Print each problem as `twelve: <prefix><problem>` on stderr, then exit (2 by default)."""
    for problem in problems:
        print(f"twelve: {prefix}{problem}", file=sys.stderr)
    raise SystemExit(code)


def describe(exc: ValidationError, option_names: Mapping[str, str] | None = None) -> list[str]:
    """One line per refused field: `TWELVE_PORT: must be ≤ 65535 (got 99999)`."""
    lines = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        name = (option_names or {}).get(field) or f"{ENV_PREFIX}{field.upper()}"
        lines.append(f"{name}: {_reason(error)}{_shown(field, error['input'])}")
    return lines


def ensure_data_dir(settings: Settings) -> Path:
    """The data directory, created if missing and proven writable (a file is written there)."""
    path = settings.data_dir.resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".twelve-probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SettingsError([f"TWELVE_DATA_DIR: cannot use {path} ({reason})"]) from None
    return path


def _reason(error: ErrorDetails) -> str:
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    kind = error["type"]
    bounds = {
        "less_than_equal": ("≤", "le"),
        "less_than": ("<", "lt"),
        "greater_than_equal": ("≥", "ge"),
        "greater_than": (">", "gt"),
    }
    if kind in bounds:
        symbol, key = bounds[kind]
        return f"must be {symbol} {ctx.get(key)}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "must be a whole number"
    if kind in ("float_parsing", "float_type"):
        return "must be a number"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(error["msg"])


def _shown(field: str, value: object) -> str:
    if field in _SECRETS or isinstance(value, dict):
        return ""
    text = str(value)
    if field in _DSNS or field.endswith("_database_url"):
        text = _without_password(text)
    return f" (got {text!r})" if text == "" else f" (got {text})"


def _without_password(dsn: str) -> str:
    scheme, sep, rest = dsn.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at:
        return dsn
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
