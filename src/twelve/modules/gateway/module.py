"""The gateway module as the process wires it: the public OpenAI routes (the Files API's on the
storage port, with the upload route's own body bound) and the keys port."""

from __future__ import annotations

from pydantic import ValidationError

from twelve.kernel.config_file import ConfigFileError
from twelve.kernel.env_settings import read_env_settings
from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec, migrations_of
from twelve.modules.chat.api import ChatService
from twelve.modules.completion.api import CompletionService
from twelve.modules.credits.api import CustomersService, HoldsService, UsageService
from twelve.modules.embeddings.api import EmbeddingsService
from twelve.modules.gateway import http
from twelve.modules.gateway.api import KeysService
from twelve.modules.gateway.files_routes import build_files_router, upload_body_limit
from twelve.modules.gateway.keys import KeyRegistry
from twelve.modules.gateway.routing import RetryPolicy
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.settings import (
    CreditHoldSettings,
    FileUploadSettings,
    GatewaySettings,
    RateLimitSettings,
)
from twelve.modules.gateway.stages.credit_hold import CreditHold
from twelve.modules.gateway.stages.limit_store import LimitStore, MemoryLimitStore
from twelve.modules.gateway.stages.rate_limit import RateLimit
from twelve.modules.gateway.stages.redis_limit_store import RedisLimitStore
from twelve.modules.gateway.usage_meter import UsageMeter
from twelve.modules.models.api import ModelsService
from twelve.modules.storage.api import StorageService


def build(context: ModuleContext) -> Built:
    settings = context.settings_as(GatewaySettings)
    keys = KeyRegistry(
        context.database,
        context.port(CustomersService),
        cache_seconds=settings.key_cache_seconds,
    )
    context.on_stop(keys.close)
    models: ModelsService = context.port(ModelsService)
    credits = CreditHoldSettings()
    credit_hold = CreditHold(
        context.port(HoldsService),
        models,
        default_max_tokens=credits.default_max_tokens,
        hold_seconds=credits.hold_seconds,
    )
    context.on_serve(credit_hold.check_prices)
    limit_store = _limit_store()
    context.on_stop(limit_store.close)
    rate_limit = RateLimit(limit_store, default_max_tokens=credits.default_max_tokens)
    usage: UsageService = context.port(UsageService)
    meter = UsageMeter(usage)
    context.on_serve(meter.start)
    context.on_stop(meter.stop)  # sends what is left: databases close after every stop hook
    gateway = Gateway(
        keys=keys,
        models=models,
        chat=context.port(ChatService),
        completion=context.port(CompletionService),
        embeddings=context.port(EmbeddingsService),
        policy=RetryPolicy.from_settings(settings),
        # A refused request takes no hold: rate limits come first.
        admission=[rate_limit, credit_hold],
        meter=meter.record,
    )
    return Built(
        services={KeysService: keys},
        routers=[
            http.build_router(gateway, usage),
            build_files_router(gateway, context.port(StorageService)),
        ],
        direct=http.direct_routes(gateway),
        body_limits={
            ("POST", f"{http.PREFIX}/files"): upload_body_limit(
                read_env_settings(FileUploadSettings).max_file_bytes
            )
        },
        facts=[gateway],
    )


def _limit_store() -> LimitStore:
    try:
        settings = RateLimitSettings()
    except ValidationError as exc:
        problem = exc.errors(include_url=False, include_input=False)[0]
        variable = "TWELVE_" + ".".join(str(p) for p in problem["loc"]).upper()
        raise ConfigFileError(f"{variable}: {problem['msg']}") from None
    if settings.redis_url is None:
        return MemoryLimitStore()
    return RedisLimitStore(settings.redis_url, slot_seconds=settings.rate_limit_slot_seconds)


MODULE = ModuleSpec(
    name="gateway",
    provides=(KeysService,),
    migrations=migrations_of(__file__),
    settings=GatewaySettings,
    build=build,
)
