"""What a module says about itself, so that the process can wire it with no code of its own.

Each module exports `MODULE`, a `ModuleSpec` (in `modules/<name>/module.py`): its name, the
Protocols (from its `api.py`) it provides, where its migrations are when it keeps tables, its
settings class, and `build(context)`. Bootstrap iterates these descriptors: for every module this
process serves it opens the database, reads the settings and calls `build`; every port a module
asks for (`context.port(Protocol)`) is the providing module's service when that module is served
here, else a client generated from the Protocol that calls it in its own process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter
from pydantic_settings import BaseSettings

from twelve.kernel.config_file import ModuleNotLocated
from twelve.kernel.db import Database
from twelve.kernel.edge import DirectRoutes
from twelve.kernel.event_bus import EventBus, Handler, InProcessBus
from twelve.kernel.http_client import HttpClient
from twelve.kernel.outbox import OutboxRelay, ensure_outbox, outbox_writer
from twelve.kernel.unit_of_work import OutboxWriter

Hook = Callable[[], Awaitable[None]]
S = TypeVar("S", bound=BaseSettings)


class Process(Protocol):
    """What every module may know about the process that serves it."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def data_dir(self) -> Path: ...

    @property
    def config(self) -> Path | None: ...


class ModuleContext:
    """What `build` gets: the process, the module's settings and database, and every port."""

    def __init__(
        self,
        name: str,
        *,
        process: Process,
        settings: BaseSettings | None,
        database: Database | None,
        http: HttpClient,
        ports: Callable[[type[Any]], Any],
        bus: EventBus | None = None,
    ) -> None:
        self.name = name
        self.process = process
        self.settings = settings
        self.http = http
        self._database = database
        self._ports = ports
        self.bus: EventBus = bus if bus is not None else InProcessBus()
        self.starts: list[Hook] = []
        self.serving: list[Hook] = []
        self.stops: list[Hook] = []

    @property
    def database(self) -> Database:
        if self._database is None:
            raise RuntimeError(f"the {self.name} module declares no database (migrations)")
        return self._database

    def settings_as(self, cls: type[S]) -> S:
        """The module's settings, read from the environment when bootstrap built its context."""
        if not isinstance(self.settings, cls):
            raise TypeError(f"the {self.name} module's settings are not {cls.__name__}")
        return self.settings

    def port(self, protocol: type[Any]) -> Any:
        """The service implementing `protocol`, in this process or another.

        Typed `Any` because a Protocol class cannot be passed as `type[T]`; assign the result to
        a variable annotated with the Protocol (`models: ModelsService = context.port(...)`).
        """
        return self._ports(protocol)

    def optional_port(self, protocol: type[Any]) -> Any:
        """`port(protocol)`, or None when its module is neither served here nor located
        (`TWELVE_<MODULE>_URL`): for what a module offers only when that other module is there
        (admin's webhook pages without the events module)."""
        try:
            return self._ports(protocol)
        except ModuleNotLocated:  # a real configuration error still stops the start
            return None

    def outbox(self) -> OutboxWriter:
        """The hook that writes this module's published events in its commands' transactions
        (`UnitOfWork(db, outbox=...)`); a serving process relays them to the event bus."""
        relay = OutboxRelay(self.database, self.bus)
        database = self.database
        self.on_start(lambda: ensure_outbox(database))
        self.on_serve(relay.start)
        self.on_stop(relay.stop)
        return outbox_writer(self.name)

    def subscribe(self, subjects: str, handler: Handler) -> None:
        """Handle events matching `subjects` (`twelve.gateway.key.*`), at least once each;
        the module's name is the durable subscriber's."""
        self.bus.subscribe(subjects, self.name, handler)

    def on_start(self, hook: Hook) -> None:
        """Run `hook` once the databases are migrated, before the first request (in order)."""
        self.starts.append(hook)

    def on_serve(self, hook: Hook) -> None:
        """Run `hook` only in a process that serves requests (after the start hooks): background
        work such as sweepers, which one-shot CLI commands must not start."""
        self.serving.append(hook)

    def on_stop(self, hook: Hook) -> None:
        """Run `hook` at shutdown, before the databases close (in reverse order of modules)."""
        self.stops.append(hook)


@dataclass(frozen=True)
class Built:
    """What a module built: its services by the Protocol they implement, its public routes, and
    objects the process may ask for by type (the gateway, the loaded configuration, …)."""

    services: Mapping[type[Any], object] = field(default_factory=dict)
    routers: Sequence[APIRouter] = ()
    # Hot routes the edge calls as plain ASGI apps, past the framework (the same routes stay in
    # `routers` for the OpenAPI document): (method, path) -> (route name, app).
    direct: DirectRoutes = field(default_factory=dict)
    # Routes whose bodies may exceed the process's body limit: (method, path) -> their own bound.
    body_limits: Mapping[tuple[str, str], int] = field(default_factory=dict)
    facts: Sequence[object] = ()
    # Shown by /readyz without making the process unready (e.g. deployments with no credentials).
    notices: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    provides: tuple[type[Any], ...] = ()
    # The Alembic scripts of the module's own database; None: it keeps no tables.
    migrations: Path | None = None
    settings: type[BaseSettings] | None = None
    build: Callable[[ModuleContext], Built] | None = None

    @property
    def serves(self) -> bool:
        """Whether the module serves anything yet (reserved names build nothing)."""
        return self.build is not None

    @property
    def has_database(self) -> bool:
        return self.migrations is not None


def migrations_of(module_file: str) -> Path:
    """`adapters/migrations` next to a module's `module.py` (pass `__file__`)."""
    return Path(module_file).resolve().parent / "adapters" / "migrations"
