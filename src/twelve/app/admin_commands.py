"""The administration commands of `twelve`: customers, keys and the admin key, from a shell.

They work with or without a running server, on the data directory (or database) the server uses:
settings come from the same `TWELVE_*` variables. Results print as a table on a terminal and as
JSON (`--json`, or whenever stdout is piped) for scripts. Every failure is one line on stderr and
exit status 1 (2 for configuration errors), never a traceback.

Only typer is imported at module level: the web stack, SQLAlchemy and the wiring load inside the
commands, so `twelve --help` stays fast.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand

from twelve.app import cli_values

if TYPE_CHECKING:
    from pydantic import ValidationError

    from twelve.app.settings import Settings
    from twelve.modules.admin.service import Administration

T = TypeVar("T")
_HELP = {"help_option_names": ["-h", "--help"]}

CustomerArg = Annotated[str, typer.Argument(help="Its id or name.", metavar="CUSTOMER")]
KeyIdArg = Annotated[str, typer.Argument(help="The key's id (key_...).", metavar="KEY_ID")]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The data directory the server uses (default: TWELVE_DATA_DIR, else ./data).",
        metavar="DIR",
    ),
]
CustomerLimit = Annotated[
    str | None,
    typer.Option(
        help="Across all of the customer's keys: a whole number, or 'none' for no limit.",
        metavar="N|none",
        show_default=False,
    ),
]
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print JSON (as the admin API returns) instead of a table.")
]


class _Command(TyperCommand):
    """A command whose help shows an argument as `CUSTOMER`, not `CUSTOMER <str>`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument):
                param.display_type_rich = _no_type  # type: ignore[method-assign]


def _no_type(ctx: Any) -> None:  # the signature of TyperArgument.display_type_rich
    return None


def register(cli: typer.Typer) -> None:
    """Add the `customers`, `keys` and `admin-key` command groups to the root `twelve` command.

    Also makes help plain click text for every command (typer applies the root's mode to all):
    rich's boxes label every flag `<bool>` and every option `<str>`, and importing rich costs
    start-up time.
    """
    from twelve.app.key_commands import keys_group  # it builds on this module's helpers

    cli.rich_markup_mode = None
    cli.add_typer(_customers(), name="customers")
    cli.add_typer(keys_group(), name="keys")
    cli.add_typer(_credits(), name="credits")
    cli.add_typer(_admin_key(), name="admin-key")


def _group(help_text: str) -> typer.Typer:
    return typer.Typer(no_args_is_help=True, context_settings=_HELP, help=help_text)


def _customers() -> typer.Typer:
    group = _group("Customers: the accounts keys belong to.")

    @group.command("create", cls=_Command)
    def create(
        name: Annotated[str, typer.Argument(help="A unique name, e.g. acme.", metavar="NAME")],
        credits: Annotated[
            str, typer.Option("--credits", help="Opening balance in USD.", metavar="USD")
        ] = "0",
        rpm: CustomerLimit = None,
        tpm: CustomerLimit = None,
        max_concurrency: CustomerLimit = None,
        as_json: JsonFlag = False,
        data_dir: DataDirOption = None,
    ) -> None:
        """Create a customer (as the admin API does: shown with its balance)."""
        from twelve.modules.credits.api import CreateCustomer

        body = {"name": name, "credits": credits} | _limits(rpm, tpm, max_concurrency)

        def command() -> CreateCustomer:
            return CreateCustomer.model_validate(body)

        _print(_run(lambda admin: admin.create_account(command()), data_dir), as_json)

    @group.command("list", cls=_Command)
    def list_(as_json: JsonFlag = False, data_dir: DataDirOption = None) -> None:
        """List every customer, oldest first."""
        _print(_run(lambda admin: admin.list_customers(), data_dir), as_json)

    @group.command("show", cls=_Command)
    def show(
        customer: CustomerArg, as_json: JsonFlag = False, data_dir: DataDirOption = None
    ) -> None:
        """Show one customer, with its balance."""
        _print(_run(lambda admin: admin.account(customer), data_dir), as_json)

    @group.command("update", cls=_Command)
    def update(
        customer: CustomerArg,
        name: Annotated[
            str | None, typer.Option(help="A new unique name.", metavar="NAME", show_default=False)
        ] = None,
        rpm: CustomerLimit = None,
        tpm: CustomerLimit = None,
        max_concurrency: CustomerLimit = None,
        as_json: JsonFlag = False,
        data_dir: DataDirOption = None,
    ) -> None:
        """Change a customer: only the options given. Its keys see new limits within the key
        cache's time."""
        from twelve.modules.credits.api import UpdateCustomer

        body: dict[str, Any] = _limits(rpm, tpm, max_concurrency)
        if name is not None:
            body["name"] = name
        if not body:
            raise cli_values.fail("nothing to change: give at least one option (see --help)")
        _print(
            _run(
                lambda admin: admin.update_customer(customer, UpdateCustomer.model_validate(body)),
                data_dir,
            ),
            as_json,
        )

    return group


def _limits(rpm: str | None, tpm: str | None, max_concurrency: str | None) -> dict[str, Any]:
    given = {"rpm": rpm, "tpm": tpm, "max_concurrency": max_concurrency}
    return {
        name: cli_values.whole_or_none(text, f"--{name.replace('_', '-')}")
        for name, text in given.items()
        if text is not None
    }


def _credits() -> typer.Typer:
    group = _group("Prepaid credits (USD): top-ups, balances and the ledger.")

    @group.command("add", cls=_Command)
    def add(
        customer: CustomerArg,
        amount: Annotated[
            str, typer.Argument(help="USD to add, e.g. 5 or 0.25.", metavar="AMOUNT")
        ],
        reason: Annotated[str, typer.Option("--reason", help="Shown in the ledger.")] = "",
        idempotency_key: Annotated[
            str | None,
            typer.Option(
                "--idempotency-key",
                help="Run the same command again with the same key: it credits once.",
                metavar="KEY",
            ),
        ] = None,
        as_json: JsonFlag = False,
        data_dir: DataDirOption = None,
    ) -> None:
        """Add credits to a customer."""
        from twelve.modules.credits.api import AddCredits

        def command() -> AddCredits:
            return AddCredits.model_validate({"amount": amount, "reason": reason})

        _print(
            _run(lambda admin: admin.add_credits(customer, command(), idempotency_key), data_dir),
            as_json,
        )

    @group.command("show", cls=_Command)
    def show(
        customer: CustomerArg, as_json: JsonFlag = False, data_dir: DataDirOption = None
    ) -> None:
        """Show a customer's balance, what is held, and what is available."""
        _print(_run(lambda admin: admin.account(customer), data_dir), as_json)

    @group.command("ledger", cls=_Command)
    def ledger(
        customer: CustomerArg, as_json: JsonFlag = False, data_dir: DataDirOption = None
    ) -> None:
        """List a customer's ledger entries, newest first."""
        _print(_run(lambda admin: admin.ledger(customer), data_dir), as_json)

    return group


def _admin_key() -> typer.Typer:
    group = _group("The admin API's key (admin.key).")

    @group.command("rotate", cls=_Command)
    def rotate(as_json: JsonFlag = False, data_dir: DataDirOption = None) -> None:
        """Replace the admin key in the data directory with a new one and print it, once.

        A running server takes the new key at its next admin request: no restart. The old key
        stops working at that moment.
        """
        from twelve.modules.admin.adapters.admin_key import rotate_admin_key

        settings = _settings(data_dir)
        if settings.admin_key is not None:
            _fail(
                "TWELVE_ADMIN_KEY is set, and the server uses it rather than admin.key: "
                "change the variable (and restart) instead",
                1,
            )
        key, path = rotate_admin_key(settings.data_dir)
        if as_json or not sys.stdout.isatty():
            typer.echo(json.dumps({"key": key, "path": str(path)}))
            return
        typer.echo(f"new admin key (shown once, kept in {path}):\n    {key}")

    return group


def _settings(data_dir: Path | None) -> Settings:
    from pydantic import ValidationError

    from twelve.app.settings import Settings

    try:
        return Settings(data_dir=data_dir) if data_dir is not None else Settings()
    except ValidationError as exc:
        _fail_validation(exc, 2, prefix="configuration error: ")


def _run(action: Callable[[Administration], Awaitable[T]], data_dir: Path | None) -> T:
    """Run `action` against the administration this process's settings describe."""
    from pydantic import ValidationError

    from twelve.app.bootstrap import build
    from twelve.kernel.config_file import ConfigFileError
    from twelve.kernel.errors import TwelveError

    settings = _settings(data_dir)
    if settings.database_url is None and not settings.data_dir.exists():
        typer.echo(
            f"twelve: {settings.data_dir.resolve()} does not exist: starting a new, empty data "
            "directory (set TWELVE_DATA_DIR to the one the server uses)",
            err=True,
        )

    async def main() -> T:
        container = build(settings)
        await container.start()
        try:
            return await action(container.administration())
        finally:
            await container.stop()

    try:
        return asyncio.run(main())
    except TwelveError as exc:
        _fail(exc.message, 1)
    except ValidationError as exc:
        _fail_validation(exc, 1)
    except ConfigFileError as exc:
        _fail(f"configuration error: {exc}", 2)
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename or settings.data_dir}", 1)
    except Exception as exc:  # a database that refuses us, say: one line, not a traceback
        _fail(f"{type(exc).__name__}: {exc}".splitlines()[0], 1)


def _print(value: Any, as_json: bool) -> None:
    from twelve.app.cli_output import emit

    if isinstance(value, list):
        data = [v.model_dump(mode="json") for v in value]
    else:
        data = value.model_dump(mode="json")
    emit(data, as_json=as_json)


def _fail_validation(exc: ValidationError, status: int, prefix: str = "") -> NoReturn:
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
        for e in exc.errors(include_url=False)
    ]
    _fail(prefix + "; ".join(problems), status)


def _fail(message: str, status: int) -> NoReturn:
    typer.echo(f"twelve: {message}", err=True)
    raise typer.Exit(status)
