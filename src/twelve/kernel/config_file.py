"""The YAML configuration file, with `${VAR}` and `${VAR:-default}` taken from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigFileError(ValueError):
    """The configuration file cannot be used; the message says where and why."""


class ModuleNotLocated(ConfigFileError):
    """A module this process neither serves nor knows the address of (`TWELVE_<MODULE>_URL`)."""


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _VAR.sub(lambda m: _lookup(m, env), value)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


def _lookup(match: re.Match[str], env: Mapping[str, str]) -> str:
    name, default = match.group(1), match.group(2)
    if name in env:
        return env[name]
    if default is not None:
        return default
    raise ConfigFileError(f"environment variable {name} is not set (use ${{{name}:-}} for empty)")


def load_config_file(path: Path | None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The parsed file with variables filled in; an empty config when there is no file."""
    if path is None:
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigFileError(f"config file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"config file {path} is not valid YAML: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigFileError(f"config file {path} must hold a mapping at the top level")
    result: dict[str, Any] = interpolate(raw, os.environ if env is None else env)
    return result
