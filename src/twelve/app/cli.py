"""The `twelve` command: serve the platform, and administer customers and keys from a shell."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from twelve.app import admin_commands, jobs_command, models_command, usage_command, worker_command

# Only typer at module level: `twelve --help` and the simple commands must start fast, so FastAPI,
# SQLAlchemy, aiohttp, pydantic and uvicorn are imported inside the commands that use them.
if TYPE_CHECKING:
    from twelve.app.bootstrap import Container
    from twelve.app.settings import Settings

T = TypeVar("T")

cli = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Twelve: one endpoint, every model.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
admin_commands.register(cli)
usage_command.register(cli)
models_command.register(cli)
jobs_command.register(cli)
worker_command.register(cli)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"twelve {version('twelve')}")
        raise typer.Exit()


@cli.callback()
def root(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where the SQLite files and admin.key live (default: TWELVE_DATA_DIR, "
            "else ./data). Applies to every command.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Twelve: one endpoint, every model."""
    if data_dir is not None:
        # Through the environment, so every subcommand (and the settings it loads) sees it.
        os.environ["TWELVE_DATA_DIR"] = str(data_dir)


def _container(settings: Settings) -> Container:
    """The container for a one-shot command, with logs on stderr (stdout is the command's)."""
    from twelve.app.bootstrap import build
    from twelve.app.settings_errors import CONFIGURATION, exit_with
    from twelve.kernel.config_file import ConfigFileError
    from twelve.kernel.telemetry.logging import setup_logging

    # A command's output is its result: INFO lines are noise there (DEBUG is asked for).
    setup_logging(
        "WARNING" if settings.log_level == "INFO" else settings.log_level, settings.log_format
    )
    try:
        return build(settings)
    except ConfigFileError as exc:
        exit_with([str(exc)], prefix=CONFIGURATION)


def _run(action: Callable[[Container], Awaitable[T]]) -> T:
    import asyncio

    from twelve.app.settings_errors import (
        CONFIGURATION,
        SettingsError,
        ensure_data_dir,
        exit_with,
        settings_or_exit,
    )
    from twelve.app.startup_error import StartupError
    from twelve.kernel.errors import TwelveError

    async def main() -> T:
        settings = settings_or_exit()
        ensure_data_dir(settings)
        container = _container(settings)
        try:
            await container.start()
            return await action(container)
        finally:
            await container.stop()

    try:
        return asyncio.run(main())
    except TwelveError as exc:
        typer.echo(f"twelve: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except StartupError as exc:
        exit_with([str(exc)])
    except SettingsError as exc:
        exit_with(exc.problems, prefix=CONFIGURATION)


@cli.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default: TWELVE_HOST, else 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: TWELVE_PORT, else 8080).")
    ] = None,
    modules: Annotated[
        str | None,
        typer.Option(help="Serve only these modules, e.g. gateway,admin (default: all)."),
    ] = None,
) -> None:
    """Serve the platform: every module in this process, or the ones named by --modules."""
    from twelve.app.settings_errors import settings_or_exit

    settings = settings_or_exit(
        {"host": host, "port": port, "modules": modules},
        {"host": "--host", "port": "--port", "modules": "--modules"},
    )
    from twelve.app.server import run

    run(settings, port_name="TWELVE_PORT" if port is None else "--port")


@cli.command()
def sidecar(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default: TWELVE_SIDECAR_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: TWELVE_SIDECAR_PORT, else 8765).")
    ] = None,
) -> None:
    """Serve the local models (embeddings, classification, summarisation) on their own."""
    from twelve.sidecar.server import serve as serve_sidecar

    serve_sidecar(host, port)


@cli.command()
def migrate() -> None:
    """Apply every module's migrations and exit."""

    async def noop(_c: Container) -> None:
        return None

    _run(noop)
    typer.echo("migrations applied")


def main() -> None:
    cli()


if __name__ == "__main__":  # `python -m twelve.app.cli`: how `twelve worker` starts children
    main()
