"""Wiring: the one place that builds the modules this process serves, from their descriptors.

A process serves the modules in `Settings.modules` (all of them by default). Each module describes
itself (`kernel/module_spec.py`, `modules/<name>/module.py`); this file knows none by name. For
each port a served module asks for, the wiring gives the providing module's service when that
module is served here too, and a client generated from the port's Protocol that calls the module's
internal routes when it is served elsewhere (`TWELVE_<MODULE>_URL`). The internal routes of served
modules are generated from the same Protocols. `build` makes the object graph and reads the config
file (no network, no database); `Container.start` opens each served module's database, applies its
migrations (a database that cannot be used is one line naming its variable) and runs the modules'
start hooks; `Container.stop` runs their stop hooks and releases everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter
from starlette.types import ASGIApp

from twelve.app.catalogue import CATALOGUE
from twelve.app.readiness import Readiness, RemoteModule, probe
from twelve.app.settings import Settings
from twelve.app.startup_error import database_problem
from twelve.kernel.config_file import ConfigFileError, ModuleNotLocated
from twelve.kernel.db import Database, module_database_url
from twelve.kernel.env_settings import read_env_settings
from twelve.kernel.event_bus import EventBus, InProcessBus
from twelve.kernel.http_client import HttpClient
from twelve.kernel.migrations import upgrade
from twelve.kernel.module_spec import Built, Hook, ModuleContext, ModuleSpec
from twelve.kernel.nats_bus import NatsBus
from twelve.kernel.remote import client_for, endpoints_for
from twelve.kernel.rpc import Endpoints, RpcClient
from twelve.modules.admin.service import Administration
from twelve.modules.models.loaded_models import LoadedModels

T = TypeVar("T")


@dataclass
class Container:
    settings: Settings
    hosted: frozenset[str]
    databases: dict[str, Database]
    http: HttpClient
    # The public routes of the served modules, in catalogue order.
    routers: list[APIRouter]
    # The routes the edge serves past the framework, from every served module.
    direct: dict[tuple[str, str], tuple[str, ASGIApp]]
    # The routes with a body bound of their own (uploads), from every served module.
    body_limits: dict[tuple[str, str], int]
    # The ports this process serves to modules in other processes, by module name.
    internal: dict[str, Endpoints]
    # What the served modules built, by module name.
    built: dict[str, Built] = field(default_factory=dict)
    starts: list[Hook] = field(default_factory=list)
    # Run by `start_serving`, in a serving process only (sweepers and other background work).
    serving: list[Hook] = field(default_factory=list)
    stops: list[Hook] = field(default_factory=list)
    # The modules this process reaches in other processes (checked by /readyz).
    remotes: dict[str, RemoteModule] = field(default_factory=dict)
    # Each served database's migration scripts, by module name.
    migrations: dict[str, Path] = field(default_factory=dict)
    started: bool = False

    def fact(self, kind: type[T]) -> T | None:
        """The object of type `kind` a served module shared (the gateway, the loaded models…)."""
        for built in self.built.values():
            for fact in built.facts:
                if isinstance(fact, kind):
                    return fact
        return None

    @property
    def admin(self) -> Administration | None:
        return self.fact(Administration)

    @property
    def models(self) -> LoadedModels | None:
        return self.fact(LoadedModels)

    async def start(self) -> None:
        """Open every database, apply its migrations, then run the start hooks (once: the server
        runner starts the container before it serves, and the app's lifespan then finds it
        started)."""
        if self.started:
            return
        for name, db in self.databases.items():
            try:
                await upgrade(db, self.migrations[name])
            except Exception as exc:  # any driver's failure: told as one line, never a traceback
                raise database_problem(self.settings, db, exc) from exc
        for hook in self.starts:
            await hook()
        self.started = True

    async def start_serving(self) -> None:
        """Start what only a serving process runs, once; one-shot CLI commands do not."""
        hooks, self.serving = self.serving, []
        for hook in hooks:
            await hook()

    async def stop(self) -> None:
        for hook in reversed(self.stops):
            await hook()
        await self.http.close()
        for db in self.databases.values():
            await db.dispose()

    async def readiness(self) -> Readiness:
        probes = await asyncio.gather(*(probe(self.http, r) for r in self.remotes.values()))
        notices: dict[str, list[str]] = {}
        for built in self.built.values():
            for name, items in built.notices.items():
                notices.setdefault(name, []).extend(items)
        return Readiness(
            databases={name: await db.ping() for name, db in self.databases.items()},
            modules=dict(zip(self.remotes, probes, strict=True)),
            notices=notices,
        )

    def administration(self) -> Administration:
        if self.admin is None:
            raise ConfigFileError("the admin module is not served by this process")
        return self.admin


class _Wiring:
    """Each served module, built once, in the order their ports are first asked for."""

    def __init__(self, settings: Settings, catalogue: Iterable[ModuleSpec]) -> None:
        self.settings = settings
        self.specs = list(catalogue)
        self.hosted = settings.hosted_modules
        self.http = HttpClient()
        self.bus = event_bus(settings)
        self.providers = {protocol: spec for spec in self.specs for protocol in spec.provides}
        self.databases = {
            spec.name: _database(settings, spec.name)
            for spec in self.specs
            if spec.has_database and spec.name in self.hosted
        }
        self.built: dict[str, Built] = {}
        self.contexts: dict[str, ModuleContext] = {}
        self.building: list[str] = []
        self.clients: dict[type[Any], Any] = {}
        self.rpcs: dict[str, RpcClient] = {}
        self.remotes: dict[str, RemoteModule] = {}

    def port(self, protocol: type[Any]) -> Any:
        spec = self.providers.get(protocol)
        if spec is None:
            raise TypeError(f"no module provides {protocol.__name__}")
        if spec.name in self.hosted:
            return self.build(spec).services[protocol]
        if protocol not in self.clients:
            self.clients[protocol] = client_for(protocol, self._rpc(spec.name))
        return self.clients[protocol]

    def build(self, spec: ModuleSpec) -> Built:
        if spec.name in self.built:
            return self.built[spec.name]
        if spec.name in self.building:
            cycle = " -> ".join([*self.building, spec.name])
            raise RuntimeError(f"modules depend on each other in a cycle: {cycle}")
        self.building.append(spec.name)
        context = ModuleContext(
            spec.name,
            process=self.settings,
            settings=read_env_settings(spec.settings) if spec.settings is not None else None,
            database=self.databases.get(spec.name),
            http=self.http,
            ports=self.port,
            bus=self.bus,
        )
        built = spec.build(context) if spec.build is not None else Built()
        self.building.pop()
        missing = [p.__name__ for p in spec.provides if p not in built.services]
        if missing:
            raise TypeError(f"the {spec.name} module built no service for {', '.join(missing)}")
        self.built[spec.name] = built
        self.contexts[spec.name] = context
        return built

    def _rpc(self, module: str) -> RpcClient:
        if module in self.rpcs:
            return self.rpcs[module]
        url = self.settings.module_url(module)
        key = self.settings.internal_key
        if not url or key is None:
            raise ModuleNotLocated(
                f"the {module} module is not served by this process: set "
                f"TWELVE_{module.upper()}_URL and TWELVE_INTERNAL_KEY, or serve it here"
            )
        self.remotes[module] = RemoteModule(module, url, key.get_secret_value())
        self.rpcs[module] = RpcClient(module, url, key.get_secret_value(), self.http)
        return self.rpcs[module]

    def internal(self) -> dict[str, Endpoints]:
        """The internal routes of served modules: only with an internal key to guard them."""
        if self.settings.internal_key is None:
            return {}
        served: dict[str, Endpoints] = {}
        for spec in self.specs:
            for protocol in spec.provides if spec.name in self.hosted else ():
                endpoints = endpoints_for(protocol, self.built[spec.name].services[protocol])
                known = served.get(spec.name)
                served[spec.name] = known.merged(endpoints) if known else endpoints
        return served


def build(settings: Settings, catalogue: Iterable[ModuleSpec] = CATALOGUE) -> Container:
    wiring = _Wiring(settings, catalogue)
    served = [spec for spec in wiring.specs if spec.name in wiring.hosted]
    for spec in served:
        wiring.build(spec)
    built = {spec.name: wiring.built[spec.name] for spec in served}
    contexts = [wiring.contexts[spec.name] for spec in served]
    return Container(
        settings=settings,
        hosted=wiring.hosted,
        databases=wiring.databases,
        http=wiring.http,
        routers=[router for b in built.values() for router in b.routers],
        direct={route: app for b in built.values() for route, app in b.direct.items()},
        body_limits={route: n for b in built.values() for route, n in b.body_limits.items()},
        internal=wiring.internal(),
        built=built,
        starts=[hook for context in contexts for hook in context.starts],
        # The bus starts before any relay or consumer and stops after them (stops run reversed).
        serving=[wiring.bus.start, *(hook for context in contexts for hook in context.serving)],
        stops=[wiring.bus.stop, *(hook for context in contexts for hook in context.stops)],
        remotes=wiring.remotes,
        migrations={s.name: s.migrations for s in served if s.migrations is not None},
    )


def event_bus(settings: Settings) -> EventBus:
    """NATS JetStream when `TWELVE_NATS_URL` is set, else in process."""
    if settings.nats_url:
        return NatsBus(settings.nats_url)
    return InProcessBus()


def _database(settings: Settings, module: str) -> Database:
    url, schema = module_database_url(
        module,
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        module_url=settings.module_database_url(module),
    )
    return Database(
        module,
        url,
        schema=schema,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
