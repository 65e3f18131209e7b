"""A step's input with its references filled in: `${request.x}` from the workflow's request,
`${steps.s.output.y}` from an earlier step's output. A string that is one reference becomes the
value itself (a list stays a list); a reference inside longer text becomes its text. A reference
to something absent (a step that failed and went on, a field not given) is None, or "" in text.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

_WHOLE = re.compile(r"^\$\{([^}]*)\}$")
_INSIDE = re.compile(r"\$\{([^}]*)\}")


def lookup(path: str, request: dict[str, Any], outputs: dict[str, Any]) -> Any:
    parts = path.split(".")
    if parts[0] == "request":
        value: Any = request
        rest = parts[1:]
    else:  # steps.<name>.output[...]
        value = outputs.get(parts[1])
        rest = parts[3:]
    for part in rest:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def fill(value: Any, request: dict[str, Any], outputs: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        if whole:
            return lookup(whole.group(1), request, outputs)

        def text(match: re.Match[str]) -> str:
            found = lookup(match.group(1), request, outputs)
            if found is None:
                return ""
            return found if isinstance(found, str) else orjson.dumps(found).decode()

        return _INSIDE.sub(text, value)
    if isinstance(value, list):
        return [fill(v, request, outputs) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, request, outputs) for k, v in value.items()}
    return value
