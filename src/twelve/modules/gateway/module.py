"""The gateway module as the process wires it: the public OpenAI routes and the keys port."""

from __future__ import annotations

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec, migrations_of
from twelve.modules.chat.api import ChatService
from twelve.modules.completion.api import CompletionService
from twelve.modules.credits.api import CustomersService, HoldsService, UsageService
from twelve.modules.embeddings.api import EmbeddingsService
from twelve.modules.gateway import http
from twelve.modules.gateway.api import KeysService
from twelve.modules.gateway.keys import KeyRegistry
from twelve.modules.gateway.routing import RetryPolicy
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.settings import CreditHoldSettings, GatewaySettings
from twelve.modules.gateway.stages.credit_hold import CreditHold
from twelve.modules.gateway.usage_meter import UsageMeter
from twelve.modules.models.api import ModelsService


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
        admission=[credit_hold],
        meter=meter.record,
    )
    return Built(
        services={KeysService: keys},
        routers=[http.build_router(gateway, usage)],
        direct=http.direct_routes(gateway),
        facts=[gateway],
    )


MODULE = ModuleSpec(
    name="gateway",
    provides=(KeysService,),
    migrations=migrations_of(__file__),
    settings=GatewaySettings,
    build=build,
)
