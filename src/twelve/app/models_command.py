"""`twelve models`: every configured model and deployment, with a health check run now.

A one-shot command runs no background checks and routes no traffic, so it checks every deployment
once, together, before printing (the same probe a serving process makes: the provider's cheap
call, the model's `health_check` settings). Breakers, latency and requests in flight live in the
serving process: `GET /admin/v1/models` shows them. The JSON (`--json`, or when stdout is piped)
is that route's shape.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from twelve.app import admin_commands
from twelve.app.admin_commands import DataDirOption, JsonFlag

_COLUMNS = (
    ("model", "MODEL"),
    ("name", "DEPLOYMENT"),
    ("provider", "PROVIDER"),
    ("priority", "PRIORITY"),
    ("weight", "WEIGHT"),
    ("status", "HEALTH"),
    ("detail", "DETAIL"),
)


def register(cli: typer.Typer) -> None:
    cli.command("models", cls=admin_commands._Command)(models)


def models(as_json: JsonFlag = False, data_dir: DataDirOption = None) -> None:
    """Show every model and deployment, after checking each deployment's health now."""
    views = admin_commands._run(lambda admin: admin.models_view(check_now=True), data_dir)
    data = [view.model_dump(mode="json") for view in views]
    if as_json or not sys.stdout.isatty():
        typer.echo(json.dumps({"object": "list", "data": data}, indent=2))
        return
    typer.echo(table(data))


def table(models: list[dict[str, Any]]) -> str:
    if not models:
        return "(no models configured)"
    rows = [
        {
            "model": model["id"],
            **deployment,
            "status": deployment["health"]["status"],
            "detail": deployment["health"]["detail"],
        }
        for model in models
        for deployment in model["deployments"]
    ]
    cells = [[title for _f, title in _COLUMNS]] + [
        [f"{r[f]:g}" if f == "weight" else str(r[f]) for f, _t in _COLUMNS] for r in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )
