"""Names and identifiers a peer sends: refused when they hold control characters.

PostgreSQL cannot store NUL (asyncpg raises, which was a 500) while SQLite stores it; the other
C0 and C1 controls (newlines, escapes, DEL) forge log lines and garble terminals and tables. No
legitimate name or id contains one, so they are refused at the edge with a 400 naming the field,
the same on every backend.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MESSAGE = "must not contain control characters (such as NUL, newlines or escapes)"


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None


def refuse_control_characters(value: str) -> str:
    if has_control_characters(value):
        raise ValueError(MESSAGE)
    return value


PrintableStr = Annotated[str, AfterValidator(refuse_control_characters)]
