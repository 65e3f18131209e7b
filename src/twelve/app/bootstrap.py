"""Wiring: the one place that builds every module's services and injects their dependencies.

`build` makes the object graph without I/O; `Container.start` opens databases and applies each
module's migrations; `Container.stop` releases everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from twelve.app.settings import MODULES_WITH_DATABASES, Settings
from twelve.kernel.config_file import load_config_file
from twelve.kernel.db import Database, module_database_url
from twelve.kernel.http_client import HttpClient
from twelve.kernel.migrations import upgrade
from twelve.modules.admin.service import Administration
from twelve.modules.chat.service import ChatCompletions
from twelve.modules.completion.service import TextCompletions
from twelve.modules.credits.service import CreditsService
from twelve.modules.embeddings.service import Embeddings
from twelve.modules.gateway.keys import KeyRegistry
from twelve.modules.gateway.routing import RetryPolicy
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.settings import GatewaySettings
from twelve.modules.models.config import ModelsConfig
from twelve.modules.models.service import ModelsRegistry, build_models_service

_MODULES_ROOT = Path(__file__).resolve().parent.parent / "modules"


@dataclass
class Container:
    settings: Settings
    databases: dict[str, Database]
    http: HttpClient
    models: ModelsRegistry
    credits: CreditsService
    keys: KeyRegistry
    gateway: Gateway
    admin: Administration

    async def start(self) -> None:
        for name, db in self.databases.items():
            await upgrade(db, _MODULES_ROOT / name / "adapters" / "migrations")

    async def stop(self) -> None:
        await self.keys.close()
        await self.http.close()
        for db in self.databases.values():
            await db.dispose()

    async def readiness(self) -> dict[str, bool]:
        return {name: await db.ping() for name, db in self.databases.items()}


def build(settings: Settings) -> Container:
    raw = load_config_file(settings.config)
    models_config = ModelsConfig.model_validate({"models": raw.get("models") or []})
    databases = {name: _database(settings, name) for name in MODULES_WITH_DATABASES}
    http = HttpClient()
    gateway_settings = GatewaySettings()

    models = build_models_service(models_config, http)
    credits = CreditsService(databases["credits"])
    keys = KeyRegistry(
        databases["gateway"], credits, cache_seconds=gateway_settings.key_cache_seconds
    )
    gateway = Gateway(
        keys=keys,
        models=models,
        chat=ChatCompletions(models),
        completion=TextCompletions(models),
        embeddings=Embeddings(models),
        policy=RetryPolicy.from_settings(gateway_settings),
    )
    return Container(
        settings=settings,
        databases=databases,
        http=http,
        models=models,
        credits=credits,
        keys=keys,
        gateway=gateway,
        admin=Administration(credits, keys),
    )


def _database(settings: Settings, module: str) -> Database:
    url, schema = module_database_url(
        module,
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        module_url=settings.module_database_url(module),
    )
    return Database(module, url, schema=schema)
