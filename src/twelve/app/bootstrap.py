"""Wiring: the one place that builds every module's services and injects their dependencies.

A process serves the modules in `Settings.modules` (all of them by default). For each port a
served module depends on, the wiring injects the in-process service when that module is served
here too, and an HTTP client of the module's internal routes when it is served elsewhere
(`TWELVE_<MODULE>_URL`). `build` makes the object graph and reads the config file (no network,
no database); `Container.start` opens each served module's database and applies its migrations,
turning a database that cannot be used into one line naming the variable; `Container.stop`
releases everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from twelve.app.model_config import LoadedModels, load_models
from twelve.app.readiness import Readiness, RemoteModule, probe
from twelve.app.settings import MODULES_WITH_DATABASES, Settings
from twelve.app.startup_error import database_problem
from twelve.kernel.config_file import ConfigFileError
from twelve.kernel.db import Database, module_database_url
from twelve.kernel.http_client import HttpClient
from twelve.kernel.migrations import upgrade
from twelve.kernel.rpc import Endpoints, RpcClient
from twelve.kernel.telemetry.logging import get_logger
from twelve.modules.admin.service import Administration
from twelve.modules.chat import http as chat_http
from twelve.modules.chat.api import ChatService
from twelve.modules.chat.client import RemoteChat
from twelve.modules.chat.service import ChatCompletions
from twelve.modules.completion import http as completion_http
from twelve.modules.completion.api import CompletionService
from twelve.modules.completion.client import RemoteCompletion
from twelve.modules.completion.service import TextCompletions
from twelve.modules.credits import http as credits_http
from twelve.modules.credits.api import CustomersService
from twelve.modules.credits.client import RemoteCredits
from twelve.modules.credits.service import CreditsService
from twelve.modules.credits.settings import CreditsSettings
from twelve.modules.credits.sweeper import Sweeper
from twelve.modules.embeddings import http as embeddings_http
from twelve.modules.embeddings.api import EmbeddingsService
from twelve.modules.embeddings.client import RemoteEmbeddings
from twelve.modules.embeddings.service import Embeddings
from twelve.modules.gateway import http as gateway_http
from twelve.modules.gateway.api import KeysService
from twelve.modules.gateway.client import RemoteKeys
from twelve.modules.gateway.keys import KeyRegistry
from twelve.modules.gateway.routing import RetryPolicy
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.settings import GatewaySettings
from twelve.modules.gateway.stages.credit_hold import CreditHold
from twelve.modules.gateway.stages.stage import Stage
from twelve.modules.models import http as models_http
from twelve.modules.models.api import ModelsService
from twelve.modules.models.client import RemoteModels
from twelve.modules.models.service import build_models_service

log = get_logger("twelve.bootstrap")
_MODULES_ROOT = Path(__file__).resolve().parent.parent / "modules"


@dataclass
class Container:
    settings: Settings
    hosted: frozenset[str]
    databases: dict[str, Database]
    http: HttpClient
    gateway: Gateway | None
    admin: Administration | None
    # The ports this process serves to modules in other processes, by module name.
    internal: dict[str, Endpoints]
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # The modules this process reaches in other processes (checked by /readyz).
    remotes: dict[str, RemoteModule] = field(default_factory=dict)
    models: LoadedModels | None = None
    started: bool = False
    # Run by `start_serving` (the credits sweeper, the price check).
    starters: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        """Open every database and apply its migrations (once: the server runner starts the
        container before it serves, and the app's lifespan then finds it started)."""
        if self.started:
            return
        for name, db in self.databases.items():
            try:
                await upgrade(db, _MODULES_ROOT / name / "adapters" / "migrations")
            except Exception as exc:  # any driver's failure: told as one line, never a traceback
                raise database_problem(self.settings, db, exc) from exc
        self.started = True

    async def start_serving(self) -> None:
        """Start what only a serving process runs (the credits sweeper, the start-up price
        check), once; one-shot CLI commands do not."""
        starters, self.starters = self.starters, []
        for begin in starters:
            await begin()

    async def stop(self) -> None:
        for close in self.closers:
            await close()
        await self.http.close()
        for db in self.databases.values():
            await db.dispose()

    async def readiness(self) -> Readiness:
        return Readiness(
            databases={name: await db.ping() for name, db in self.databases.items()},
            modules=dict(
                zip(
                    self.remotes,
                    await asyncio.gather(*(probe(self.http, r) for r in self.remotes.values())),
                    strict=True,
                )
            ),
            missing_credentials=self.models.missing_credentials if self.models else [],
        )

    def administration(self) -> Administration:
        if self.admin is None:
            raise ConfigFileError("the admin module is not served by this process")
        return self.admin


class _Wiring:
    """Each port, built once and only when something served here needs it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.hosted = settings.hosted_modules
        self.http = HttpClient()
        self.databases = {
            name: _database(settings, name)
            for name in MODULES_WITH_DATABASES
            if name in self.hosted
        }
        self.closers: list[Callable[[], Awaitable[None]]] = []
        self.remotes: dict[str, RemoteModule] = {}
        self.loaded_models: LoadedModels | None = None
        self.starters: list[Callable[[], Awaitable[None]]] = []

    def _remote(self, module: str) -> RpcClient:
        url = self.settings.module_url(module)
        key = self.settings.internal_key
        if not url or key is None:
            raise ConfigFileError(
                f"the {module} module is not served by this process: set "
                f"TWELVE_{module.upper()}_URL and TWELVE_INTERNAL_KEY, or serve it here"
            )
        self.remotes[module] = RemoteModule(module, url, key.get_secret_value())
        return RpcClient(module, url, key.get_secret_value(), self.http)

    @cached_property
    def models(self) -> ModelsService:
        if "models" not in self.hosted:
            return RemoteModels(self._remote("models"))
        settings = self.settings
        self.loaded_models = load_models(settings.config, host=settings.host, port=settings.port)
        return build_models_service(self.loaded_models.config, self.http)

    @cached_property
    def credits(self) -> CustomersService:
        if "credits" not in self.hosted:
            return RemoteCredits(self._remote("credits"))
        return self.credits_service

    @cached_property
    def keys(self) -> KeysService:
        if "gateway" not in self.hosted:
            return RemoteKeys(self._remote("gateway"))
        registry = KeyRegistry(
            self.databases["gateway"],
            self.credits,
            cache_seconds=GatewaySettings().key_cache_seconds,
        )
        self.closers.append(registry.close)
        return registry

    @cached_property
    def chat(self) -> ChatService:
        if "chat" not in self.hosted:
            return RemoteChat(self._remote("chat"))
        return ChatCompletions(self.models)

    @cached_property
    def completion(self) -> CompletionService:
        if "completion" not in self.hosted:
            return RemoteCompletion(self._remote("completion"))
        return TextCompletions(self.models)

    @cached_property
    def embeddings(self) -> EmbeddingsService:
        if "embeddings" not in self.hosted:
            return RemoteEmbeddings(self._remote("embeddings"))
        return Embeddings(self.models)

    # --- credits wiring (issue 8): the service, its sweeper, the gateway's credit-hold stage.
    @cached_property
    def credits_service(self) -> CreditsService:
        service = CreditsService(self.databases["credits"])
        sweeper = Sweeper(service, CreditsSettings().sweep_interval_seconds)
        self.starters.append(sweeper.start)
        self.closers += [sweeper.stop, service.close]
        return service

    def credit_hold(self) -> list[Stage]:
        """The credit-hold stage when credits are served here (a remote credits module's
        client does not speak holds yet)."""
        if "credits" not in self.hosted:
            log.warning(
                "credits_not_enforced",
                reason="the credits module is served by another process; its client does not "
                "carry holds yet, so this gateway admits requests without a credit hold",
            )
            return []
        settings = CreditsSettings()
        stage = CreditHold(
            self.credits_service,
            self.models,
            default_max_tokens=settings.default_max_tokens,
            hold_seconds=settings.hold_seconds,
        )
        self.starters.append(stage.check_prices)
        return [stage]

    # --- end of credits wiring.

    def gateway(self) -> Gateway:
        return Gateway(
            keys=self.keys,
            models=self.models,
            chat=self.chat,
            completion=self.completion,
            embeddings=self.embeddings,
            policy=RetryPolicy.from_settings(GatewaySettings()),
            admission=self.credit_hold(),
        )

    def internal(self) -> dict[str, Endpoints]:
        """The internal routes of served modules: only with an internal key to guard them."""
        if self.settings.internal_key is None:
            return {}
        builders: dict[str, Callable[[], Endpoints]] = {
            "models": lambda: models_http.internal_endpoints(self.models),
            "chat": lambda: chat_http.internal_endpoints(self.chat),
            "completion": lambda: completion_http.internal_endpoints(self.completion),
            "embeddings": lambda: embeddings_http.internal_endpoints(self.embeddings),
            "credits": lambda: credits_http.internal_endpoints(self.credits),
            "gateway": lambda: gateway_http.internal_endpoints(self.keys),
        }
        return {name: build() for name, build in builders.items() if name in self.hosted}


def build(settings: Settings) -> Container:
    wiring = _Wiring(settings)
    hosted = wiring.hosted
    if "models" in hosted:
        _ = wiring.models  # the config file is read and checked at start-up even if unused
    return Container(
        settings=settings,
        hosted=hosted,
        databases=wiring.databases,
        http=wiring.http,
        gateway=wiring.gateway() if "gateway" in hosted else None,
        admin=Administration(
            wiring.credits,
            wiring.keys,
            wiring.models,
            wiring.credits_service if "credits" in hosted else None,  # credits wiring (issue 8)
        )
        if "admin" in hosted
        else None,
        internal=wiring.internal(),
        closers=wiring.closers,
        starters=wiring.starters,
        remotes=wiring.remotes,
        models=wiring.loaded_models,
    )


def _database(settings: Settings, module: str) -> Database:
    url, schema = module_database_url(
        module,
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        module_url=settings.module_database_url(module),
    )
    return Database(module, url, schema=schema)
