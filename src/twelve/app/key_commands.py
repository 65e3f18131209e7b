"""`twelve keys ...`: issue, show, list, change, rotate and revoke API keys from a shell.

Same rules as the other administration commands (`admin_commands.py`): through the admin module,
a table on a terminal and JSON when piped or with `--json`, every failure one line on stderr.
Limits take a whole number or `none` (no limit); `--expires-at` takes Unix seconds or an ISO 8601
time (UTC unless it says otherwise). Only typer is imported at module level.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from twelve.app import admin_commands, cli_values
from twelve.app.admin_commands import DataDirOption, JsonFlag, KeyIdArg

_Command = admin_commands._Command

LimitOption = Annotated[
    str | None,
    typer.Option(
        help="Whole number, or 'none' for no limit.", metavar="N|none", show_default=False
    ),
]
BudgetOption = Annotated[
    str | None,
    typer.Option(
        "--budget",
        help="Spend cap in USD per period (e.g. 25 or 0.50); 'none' removes it.",
        metavar="USD|none",
    ),
]
PeriodOption = Annotated[
    str | None,
    typer.Option("--budget-period", help="day or month (UTC; default month).", metavar="day|month"),
]
ExpiresOption = Annotated[
    str | None,
    typer.Option(
        "--expires-at",
        help="When the key stops working: Unix seconds or ISO 8601 (e.g. 2027-01-31); "
        "'none' for never.",
        metavar="WHEN",
    ),
]
CacheOption = Annotated[
    bool | None,
    typer.Option(
        "--cache/--no-cache",
        help="Whether the prompt cache may answer this key (models with a cache; default on).",
        show_default=False,
    ),
]
ModelOption = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        help="Allow only this configured model (repeat for more); default: every model.",
        metavar="MODEL",
    ),
]


def _settings_fields(
    rpm: str | None,
    tpm: str | None,
    max_concurrency: str | None,
    budget: str | None,
    budget_period: str | None,
    expires_at: str | None,
) -> dict[str, Any]:
    """The API fields the options given set (absent options are not sent)."""
    fields: dict[str, Any] = {}
    for name, text in (("rpm", rpm), ("tpm", tpm), ("max_concurrency", max_concurrency)):
        if text is not None:
            fields[name] = cli_values.whole_or_none(text, f"--{name.replace('_', '-')}")
    if budget is not None or budget_period is not None:
        fields["budget"] = cli_values.budget(budget, budget_period)
    if expires_at is not None:
        fields["expires_at"] = cli_values.moment(expires_at, "--expires-at")
    return fields


def keys_group() -> typer.Typer:
    group = admin_commands._group("API keys (tw-...) for customers.")

    @group.command("create", cls=_Command)
    def create(
        customer: Annotated[
            str, typer.Option(help="The customer's id or name.", metavar="CUSTOMER")
        ],
        name: Annotated[
            str, typer.Option(help="A label for the key.", metavar="LABEL")
        ] = "default",
        model: ModelOption = None,
        rpm: LimitOption = None,
        tpm: LimitOption = None,
        max_concurrency: LimitOption = None,
        budget: BudgetOption = None,
        budget_period: PeriodOption = None,
        expires_at: ExpiresOption = None,
        cache: CacheOption = None,
        as_json: JsonFlag = False,
        data_dir: DataDirOption = None,
    ) -> None:
        """Issue an API key. The full key is printed now and never again."""
        from twelve.modules.gateway.api import CreateApiKey

        body: dict[str, Any] = {"customer_id": customer, "name": name, "models": model or None}
        body |= _settings_fields(rpm, tpm, max_concurrency, budget, budget_period, expires_at)
        if cache is not None:
            body["cache"] = cache
        admin_commands._print(
            admin_commands._run(
                lambda admin: admin.create_key(CreateApiKey.model_validate(body)), data_dir
            ),
            as_json,
        )

    @group.command("list", cls=_Command)
    def list_(
        customer: Annotated[
            str | None,
            typer.Option(help="Only this customer's keys (id or name).", metavar="CUSTOMER"),
        ] = None,
        limit: Annotated[
            int, typer.Option(help="At most this many (1 to 1000).", min=1, max=1000)
        ] = 100,
        after: Annotated[
            str | None,
            typer.Option(help="Start after this key id (the last one shown).", metavar="KEY_ID"),
        ] = None,
        as_json: JsonFlag = False,
        data_dir: DataDirOption = None,
    ) -> None:
        """List keys, oldest first (never the keys themselves: their first characters)."""
        page = admin_commands._run(
            lambda admin: admin.list_keys(customer, "customer", limit, after), data_dir
        )
        admin_commands._print(page.data, as_json)
        if page.has_more:
            typer.echo(f"(more: --after {page.data[-1].id})", err=True)

    @group.command("show", cls=_Command)
    def show(key_id: KeyIdArg, as_json: JsonFlag = False, data_dir: DataDirOption = None) -> None:
        """Show one key."""
        admin_commands._print(
            admin_commands._run(lambda admin: admin.key(key_id), data_dir), as_json
        )

    @group.command("update", cls=_Command)
    def update(
        key_id: KeyIdArg,
        name: Annotated[
            str | None, typer.Option(help="A new label.", metavar="LABEL", show_default=False)
        ] = None,
        model: ModelOption = None,
        all_models: Annotated[
            bool, typer.Option("--all-models", help="Allow every model (drop the allow-list).")
        ] = False,
        rpm: LimitOption = None,
        tpm: LimitOption = None,
        max_concurrency: LimitOption = None,
        budget: BudgetOption = None,
        budget_period: PeriodOption = None,
        expires_at: ExpiresOption = None,
        cache: CacheOption = None,
        as_json: JsonFlag = False,
        data_dir: DataDirOption = None,
    ) -> None:
        """Change a key: only the options given. Takes effect within the key cache's time."""
        from twelve.modules.gateway.api import UpdateApiKey

        if model and all_models:
            raise cli_values.fail("--model and --all-models: give one or the other")
        body = _settings_fields(rpm, tpm, max_concurrency, budget, budget_period, expires_at)
        if cache is not None:
            body["cache"] = cache
        if name is not None:
            body["name"] = name
        if model or all_models:
            body["models"] = model or None
        if not body:
            raise cli_values.fail("nothing to change: give at least one option (see --help)")
        admin_commands._print(
            admin_commands._run(
                lambda admin: admin.update_key(key_id, UpdateApiKey.model_validate(body)),
                data_dir,
            ),
            as_json,
        )

    @group.command("rotate", cls=_Command)
    def rotate(
        key_id: KeyIdArg,
        grace: Annotated[
            int,
            typer.Option(
                help="Seconds the old secret keeps working (0: stops now; at most 30 days).",
                metavar="SECONDS",
            ),
        ] = 3600,
        as_json: JsonFlag = False,
        data_dir: DataDirOption = None,
    ) -> None:
        """Give a key a new secret, printed now and never again; its id, limits and usage stay."""
        from twelve.modules.gateway.api import RotateApiKey

        admin_commands._print(
            admin_commands._run(
                lambda admin: admin.rotate_key(
                    key_id, RotateApiKey.model_validate({"grace_seconds": grace})
                ),
                data_dir,
            ),
            as_json,
        )

    @group.command("revoke", cls=_Command)
    def revoke(key_id: KeyIdArg, as_json: JsonFlag = False, data_dir: DataDirOption = None) -> None:
        """Revoke a key (both secrets, after a rotation): it stops working within the key cache's
        lifetime (a second)."""
        admin_commands._print(
            admin_commands._run(lambda admin: admin.revoke_key(key_id), data_dir), as_json
        )

    return group
