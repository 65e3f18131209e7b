"""A module's settings read from the environment, a refused value told as one line naming its
variable (`TWELVE_STORAGE_MAX_FILE_BYTES: Input should be a valid integer`), never a pydantic
dump: bootstrap reads every module's settings class this way."""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from twelve.kernel.config_file import ConfigFileError

S = TypeVar("S", bound=BaseSettings)


def read_env_settings(cls: type[S]) -> S:
    try:
        return cls()
    except ValidationError as exc:
        problem = exc.errors(include_url=False, include_input=False)[0]
        prefix = str(cls.model_config.get("env_prefix") or "")
        field = "_".join(str(part) for part in problem["loc"]).upper()
        where = f"{prefix}{field}: " if field else ""
        raise ConfigFileError(f"{where}{problem['msg']}") from None
