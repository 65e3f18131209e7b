"""`twelve usage`: requests, tokens, units (images, audio seconds, characters) and cost per day,
model, key or customer, from a shell.

Like the other administration commands it runs on the data directory (or database) the server
uses, through the admin module, so it answers what `GET /admin/v1/usage` answers: the same JSON
with `--json` (or when stdout is piped), a table on a terminal.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from twelve.app import admin_commands
from twelve.app.admin_commands import DataDirOption, JsonFlag

_COLUMNS = (
    ("group", "GROUP"),
    ("requests", "REQUESTS"),
    ("input_tokens", "INPUT TOKENS"),
    ("output_tokens", "OUTPUT TOKENS"),
    ("images", "IMAGES"),
    ("audio_seconds", "AUDIO SECONDS"),
    ("characters", "CHARACTERS"),
    ("cost", "COST (USD)"),
    ("unpriced_requests", "UNPRICED"),
)
_UNITS = frozenset({"images", "audio_seconds", "characters"})


def register(cli: typer.Typer) -> None:
    cli.command("usage", cls=admin_commands._Command)(usage)


def usage(
    customer: Annotated[
        str | None, typer.Option("--customer", help="Its id or name.", metavar="CUSTOMER")
    ] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="One key's id (key_...).", metavar="KEY_ID")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="One model's name.", metavar="MODEL")
    ] = None,
    by: Annotated[
        str, typer.Option("--by", help="Group by day, model, key or customer.", metavar="GROUP")
    ] = "day",
    since: Annotated[
        str | None,
        typer.Option("--from", help="Unix seconds or a UTC date (YYYY-MM-DD).", metavar="WHEN"),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--to", help="Unix seconds, or a UTC date (that day included).", metavar="WHEN"
        ),
    ] = None,
    as_json: JsonFlag = False,
    data_dir: DataDirOption = None,
) -> None:
    """Show usage: requests, tokens, units and cost, per UTC day (or model, key, customer)."""
    buckets = admin_commands._run(
        lambda admin: admin.usage(
            customer=customer,
            key_id=key,
            model=model,
            since=since,
            until=until,
            group_by=by,
            customer_param="customer",
        ),
        data_dir,
    )
    rows = [b.model_dump() for b in buckets]
    if as_json or not sys.stdout.isatty():
        typer.echo(json.dumps({"object": "list", "group_by": by, "data": rows}, indent=2))
        return
    typer.echo(table(rows))


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no usage)"
    # A unit column shows only when some row counts that unit: a token-only report stays the
    # narrow table it was.
    columns = [
        (field, title)
        for field, title in _COLUMNS
        if field not in _UNITS or any(row.get(field) for row in rows)
    ]
    cells = [[title for _f, title in columns]] + [
        [_cell(f, row[f]) for f, _t in columns] for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(
            value.ljust(width) if i == 0 else value.rjust(width)
            for i, (value, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    )


def _cell(field: str, value: Any) -> str:
    if field == "cost":
        return f"{value:.6f}"
    if field == "audio_seconds":
        # Rounded to the millisecond by the report: 40.5, not 40.500, and 3, not 3.000.
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)
