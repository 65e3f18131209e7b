"""The `twelve` command: serve the platform, and administer customers and keys from a shell."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError

from twelve.app import admin_commands
from twelve.app.bootstrap import Container, build
from twelve.app.settings import Settings
from twelve.kernel.config_file import ConfigFileError
from twelve.kernel.errors import TwelveError
from twelve.modules.admin.adapters.admin_key import AdminKeyError, AdminKeySource

T = TypeVar("T")

cli = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Twelve: one endpoint, every model."
)
admin_commands.register(cli)


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        typer.echo(f"twelve: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


def _container(settings: Settings) -> Container:
    try:
        return build(settings)
    except (ConfigFileError, ValidationError) as exc:
        typer.echo(f"twelve: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


def _run(action: Callable[[Container], Awaitable[T]]) -> T:
    async def main() -> T:
        container = _container(_settings())
        await container.start()
        try:
            return await action(container)
        finally:
            await container.stop()

    try:
        return asyncio.run(main())
    except TwelveError as exc:
        typer.echo(f"twelve: {exc.message}", err=True)
        raise typer.Exit(1) from None


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080).")] = None,
    modules: Annotated[
        str | None,
        typer.Option(help="Serve only these modules, e.g. gateway,admin (default: all)."),
    ] = None,
) -> None:
    """Serve the platform: every module in this process, or the ones named by --modules."""
    given = {"host": host, "port": port, "modules": modules}
    overrides = {k: v for k, v in given.items() if v is not None}
    settings = _settings(**overrides)
    container = _container(settings)
    # Imported here: the admin commands need neither the web stack nor the server.
    import uvicorn

    from twelve.app.asgi import admin_key_for, create_app

    try:
        admin_key = admin_key_for(settings) if container.admin is not None else None
    except AdminKeyError as exc:
        typer.echo(f"twelve: {exc}", err=True)
        raise typer.Exit(2) from None
    _announce(settings, admin_key)
    app = create_app(settings, container, admin_key)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        server_header=False,
    )


def _announce(settings: Settings, source: AdminKeySource | None) -> None:
    print(f"Twelve: data in {settings.data_dir.resolve()}", file=sys.stderr)
    print(f"Twelve: modules {', '.join(sorted(settings.hosted_modules))}", file=sys.stderr)
    if source is not None:
        print(f"Twelve: {_admin_key_origin(source)}", file=sys.stderr)
    print(f"Twelve: serving on http://{settings.host}:{settings.port}", file=sys.stderr)


def _admin_key_origin(source: AdminKeySource) -> str:
    if source.generated_key:
        return (
            f"generated an admin key (shown once, kept in {source.path}):\n"
            f"    {source.generated_key}"
        )
    if source.origin == "file":
        return f"admin key is in {source.path}"
    return "admin key from TWELVE_ADMIN_KEY"


@cli.command()
def migrate() -> None:
    """Apply every module's migrations and exit."""

    async def noop(_c: Container) -> None:
        return None

    _run(noop)
    typer.echo("migrations applied")


def main() -> None:
    cli()
