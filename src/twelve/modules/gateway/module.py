"""The gateway module as the process wires it: the public OpenAI routes (the Files API's on the
storage port, with the upload route's own body bound) and the keys port."""

from __future__ import annotations

from pydantic import ValidationError

from twelve.kernel.config_file import ConfigFileError
from twelve.kernel.env_settings import read_env_settings
from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec, migrations_of
from twelve.modules.audio.api import AudioService
from twelve.modules.chat.api import ChatService
from twelve.modules.completion.api import CompletionService
from twelve.modules.credits.api import CustomersService, HoldsService, UsageService
from twelve.modules.embeddings.api import EmbeddingsService
from twelve.modules.gateway import http
from twelve.modules.gateway.api import KeysService, RoutingStateService
from twelve.modules.gateway.cache_store import CacheStore, MemoryCacheStore
from twelve.modules.gateway.files_routes import build_files_router, upload_body_limit
from twelve.modules.gateway.health_watch import HealthWatch
from twelve.modules.gateway.job_executor import GatewayJobs
from twelve.modules.gateway.jobs_routes import build_jobs_router
from twelve.modules.gateway.keys import KeyRegistry
from twelve.modules.gateway.media_limits import media_body_limits
from twelve.modules.gateway.pipeline import PlanCache
from twelve.modules.gateway.redis_cache_store import RedisCacheStore
from twelve.modules.gateway.routing import RetryPolicy
from twelve.modules.gateway.routing_state import RoutingState
from twelve.modules.gateway.semantic_index import SemanticIndex
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.settings import (
    CreditHoldSettings,
    FileUploadSettings,
    GatewaySettings,
    PromptCacheSettings,
    RateLimitSettings,
)
from twelve.modules.gateway.shared_breakers import SharedBreakers
from twelve.modules.gateway.stages.credit_hold import CreditHold
from twelve.modules.gateway.stages.limit_store import LimitStore, MemoryLimitStore
from twelve.modules.gateway.stages.prompt_cache import PromptCache
from twelve.modules.gateway.stages.rate_limit import RateLimit
from twelve.modules.gateway.stages.redis_limit_store import RedisLimitStore
from twelve.modules.gateway.usage_meter import UsageMeter
from twelve.modules.gateway.workflow_routes import build_workflow_router
from twelve.modules.images.api import ImagesService
from twelve.modules.jobs.api import JobExecutor, JobsService, WorkflowsService
from twelve.modules.models.api import ModelsService
from twelve.modules.storage.api import StorageService


def build(context: ModuleContext) -> Built:
    settings = context.settings_as(GatewaySettings)
    keys = KeyRegistry(
        context.database,
        context.port(CustomersService),
        cache_seconds=settings.key_cache_seconds,
        outbox=context.outbox(),
    )
    context.on_stop(keys.close)
    models: ModelsService = context.port(ModelsService)
    credits = CreditHoldSettings()
    holds: HoldsService = context.port(HoldsService)
    credit_hold = CreditHold(
        holds,
        models,
        default_max_tokens=credits.default_max_tokens,
        hold_seconds=credits.hold_seconds,
    )
    context.on_serve(credit_hold.check_prices)
    limits = _limit_settings()
    limit_store = _limit_store(limits)
    context.on_stop(limit_store.close)
    rate_limit = RateLimit(limit_store, default_max_tokens=credits.default_max_tokens)
    cache_store = _cache_store()
    context.on_stop(cache_store.close)
    plans = PlanCache(models)
    embeddings: EmbeddingsService = context.port(EmbeddingsService)
    prompt_cache = PromptCache(cache_store, plans, SemanticIndex(embeddings, plans))
    usage: UsageService = context.port(UsageService)
    meter = UsageMeter(usage)
    context.on_serve(meter.start)
    context.on_stop(meter.stop)  # sends what is left: databases close after every stop hook
    gateway = Gateway(
        keys=keys,
        models=models,
        chat=context.port(ChatService),
        completion=context.port(CompletionService),
        embeddings=embeddings,
        images=context.optional_port(ImagesService),
        audio=context.optional_port(AudioService),
        policy=RetryPolicy.from_settings(settings),
        # A refused request takes no hold: rate limits come first. A cache hit still counts
        # against the limits and may cost a fraction of its answer: the cache comes last.
        admission=[rate_limit, credit_hold, prompt_cache],
        meter=meter.record,
    )
    watch = HealthWatch(models, gateway.board, settings.health_poll_seconds)
    context.on_serve(watch.start)
    context.on_stop(watch.stop)
    if limits.redis_url is not None:
        shared = SharedBreakers(
            gateway.board, limits.redis_url, poll_seconds=settings.breaker_poll_seconds
        )
        context.on_serve(shared.start)
        context.on_stop(shared.stop)
    storage: StorageService = context.port(StorageService)
    routers = [http.build_router(gateway, usage), build_files_router(gateway, storage)]
    jobs: JobsService | None = context.optional_port(JobsService)
    if jobs is not None:
        routers.append(build_jobs_router(gateway, jobs))
    workflows: WorkflowsService | None = context.optional_port(WorkflowsService)
    if workflows is not None:
        routers.append(build_workflow_router(gateway, workflows))
    return Built(
        services={
            KeysService: keys,
            RoutingStateService: RoutingState(gateway.board),
            JobExecutor: GatewayJobs(gateway, keys, credit_hold, holds, storage),
        },
        routers=routers,
        direct=http.direct_routes(gateway),
        body_limits={
            ("POST", f"{http.PREFIX}/files"): upload_body_limit(
                read_env_settings(FileUploadSettings).max_file_bytes
            ),
            **media_body_limits(),
        },
        facts=[gateway],
    )


def _settings_error(exc: ValidationError, prefix: str) -> ConfigFileError:
    problem = exc.errors(include_url=False, include_input=False)[0]
    variable = prefix + ".".join(str(p) for p in problem["loc"]).upper()
    return ConfigFileError(f"{variable}: {problem['msg']}")


def _cache_store() -> CacheStore:
    try:
        settings = PromptCacheSettings()
        redis_url = RateLimitSettings().redis_url
    except ValidationError as exc:
        prefix = "TWELVE_CACHE_" if exc.title == PromptCacheSettings.__name__ else "TWELVE_"
        raise _settings_error(exc, prefix) from None
    if redis_url is None:
        return MemoryCacheStore(settings.memory_bytes)
    return RedisCacheStore(redis_url, timeout_seconds=settings.redis_timeout_seconds)


def _limit_settings() -> RateLimitSettings:
    try:
        return RateLimitSettings()
    except ValidationError as exc:
        raise _settings_error(exc, "TWELVE_") from None


def _limit_store(settings: RateLimitSettings) -> LimitStore:
    if settings.redis_url is None:
        return MemoryLimitStore()
    return RedisLimitStore(settings.redis_url, slot_seconds=settings.rate_limit_slot_seconds)


MODULE = ModuleSpec(
    name="gateway",
    provides=(KeysService, RoutingStateService, JobExecutor),
    migrations=migrations_of(__file__),
    settings=GatewaySettings,
    build=build,
)
