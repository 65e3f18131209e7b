"""How the CLI prints results: a table for people on a terminal, JSON for scripts.

JSON (`--json`, or whenever stdout is not a terminal) is exactly what the admin API returns, epoch
timestamps included, so scripts can move between the two. Tables show times in UTC and never
truncate ids, which people copy from them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

# Column headers by field, in the order they are shown; fields not listed are not shown.
_COLUMNS = {
    "id": "ID",
    "name": "NAME",
    "customer_id": "CUSTOMER",
    "prefix": "PREFIX",
    "models": "MODELS",
    "created_at": "CREATED",
    "revoked_at": "REVOKED",
    "rpm": "RPM",
    "tpm": "TPM",
    "max_concurrency": "CONCURRENCY",
    "budget": "BUDGET",
    "expires_at": "EXPIRES",
    "rotated_at": "ROTATED",
    "previous_expires_at": "OLD_KEY_UNTIL",
}
_TIMES = {"created_at", "revoked_at", "expires_at", "rotated_at", "previous_expires_at"}
# Settings most rows leave unset: a table shows their column only when some row sets them.
_SPARSE = {"rpm", "tpm", "max_concurrency", "budget", "expires_at", "rotated_at",
           "previous_expires_at"}  # fmt: skip


def emit(data: Mapping[str, Any] | Sequence[Mapping[str, Any]], *, as_json: bool) -> None:
    """Print `data` (one object or a list) as JSON or as a table, as asked or as stdout suits."""
    if as_json or not sys.stdout.isatty():
        print(json.dumps(data, indent=2))
    elif isinstance(data, Mapping):
        print(record(data))
    else:
        print(table(data))


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "(none)"
    fields = [
        f
        for f in _COLUMNS
        if any(f in row for row in rows)
        and (f not in _SPARSE or any(row.get(f) is not None for row in rows))
    ]
    cells = [[_COLUMNS[f] for f in fields]] + [[cell(row, f) for f in fields] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(fields))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def record(row: Mapping[str, Any]) -> str:
    """One object, a field per line (`key` too, when it is there: the one time it is shown)."""
    fields = [f for f in _COLUMNS if f in row]
    width = max((len(_COLUMNS[f]) for f in fields), default=0)
    lines = [f"{_COLUMNS[f].lower():<{width}} {cell(row, f)}" for f in fields]
    if "key" in row:
        lines.append(f"{'key':<{width}} {row['key']}")
        lines.append("(the full key is shown only now: keep it somewhere safe)")
    return "\n".join(lines)


def cell(row: Mapping[str, Any], field: str) -> str:
    value = row.get(field)
    if value is None:
        return "all" if field == "models" else "-"
    if field == "budget":
        return f"{value['amount']} USD/{value['period']}"
    if field in _TIMES:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
