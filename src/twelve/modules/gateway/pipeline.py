"""The request pipeline: each public request, from admission to its one end.

Admission runs the stages in order (authenticate, read the body, the key's allow-list, then the
stages that later issues add: rate limit, credit hold, cache). A cache hit ends admission with its
answer; otherwise routing tries the plan's deployments (strategies, breakers, retries, model
fallbacks, deadline: `routing.py`), racing the client: when the client leaves, the upstream call
is cancelled. Whatever happens, the finaliser ends the request exactly once: here for answers and
failures, in the stream's response for streams (`responses.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence
from time import perf_counter
from typing import TypeVar

import structlog

from twelve.kernel.errors import NotFound, TwelveError
from twelve.kernel.telemetry.logging import get_logger
from twelve.kernel.telemetry.metrics import REJECTIONS
from twelve.modules.gateway.endpoints import FeaturePorts
from twelve.modules.gateway.exchange import CachedAnswer, ClientGone, Exchange, Outcome
from twelve.modules.gateway.finaliser import Finaliser
from twelve.modules.gateway.metering import in_flight, record_overhead
from twelve.modules.gateway.routing import RetryPolicy, Routed, Router
from twelve.modules.gateway.stages.allow_list import model_not_found
from twelve.modules.gateway.stages.stage import Stage
from twelve.modules.gateway.streaming import OpenStream, open_stream
from twelve.modules.models.api import (
    Capability,
    DeploymentRef,
    JSONObject,
    ModelCard,
    ModelsService,
)

T = TypeVar("T")
log = get_logger("twelve.gateway.pipeline")
Answer = JSONObject | OpenStream


class PlanCache:
    """The models module's plans and model list, asked once and kept: they come from static
    configuration, and in a split deployment each question is a network hop. Only answers are
    kept (one per configured model and capability); a refusal is asked again each time, so
    made-up model names fill nothing."""

    def __init__(self, models: ModelsService) -> None:
        self._models = models
        self._plans: dict[tuple[str, Capability], tuple[DeploymentRef, ...]] = {}
        self._cards: tuple[ModelCard, ...] | None = None

    async def plan(self, model: str, capability: Capability) -> list[DeploymentRef]:
        plan = self._plans.get((model, capability))
        if plan is None:
            plan = tuple(await self._models.plan(model, capability))
            self._plans[(model, capability)] = plan
        return list(plan)

    async def list_models(self) -> list[ModelCard]:
        if self._cards is None:
            self._cards = tuple(await self._models.list_models())
        return list(self._cards)


class Pipeline:
    def __init__(
        self,
        *,
        stages: Sequence[Stage],
        ports: FeaturePorts,
        models: PlanCache,
        policy: RetryPolicy,
        finaliser: Finaliser,
    ) -> None:
        self._stages = tuple(stages)
        self._ports = ports
        self._models = models
        # One per process: it remembers each deployment's health, latency and load.
        self.router = Router(policy)
        self.finaliser = finaliser

    async def run(self, exchange: Exchange) -> Routed[Answer]:
        """Admit and route `exchange`. An answer ends the request here; an open stream ends when
        its response does."""
        in_flight(exchange).inc()  # until the finaliser ends it
        try:
            for stage in self._stages:
                settle = await stage.admit(exchange)
                if settle is not None:
                    exchange.settles.append(settle)
            _log_context(exchange)
            if exchange.cached is not None:  # a prompt-cache hit ends here
                routed = _from_cache(exchange.cached)
            else:
                plan = await self._plan(exchange)
                await self._prepare(exchange)
                exchange.dispatched = True
                routed = await _unless_client_leaves(exchange, self._route(exchange, plan))
                routed = await self._keep(exchange, routed)
        except BaseException as exc:
            if not exchange.dispatched:
                _log_context(exchange)
                _count_rejection(exc)
            await self.finaliser.finish(exchange, _outcome_of(exc, exchange))
            raise
        if not isinstance(routed.result, OpenStream):
            exchange.usage = exchange.endpoint.usage(routed.result)
            if exchange.recording is not None:
                exchange.recording.add(routed.result)
            await self.finaliser.finish(exchange, "ok")
        return routed

    async def _plan(self, exchange: Exchange) -> list[DeploymentRef]:
        try:
            return await self._models.plan(exchange.model, exchange.endpoint.capability)
        except NotFound:
            # One message for "unknown" and "not yours": see stages/allow_list.py.
            raise model_not_found(exchange.model) from None

    async def _prepare(self, exchange: Exchange) -> None:
        """The endpoint's one step before routing (an image fetched, an upload checked): after
        admission, so that refused callers make the gateway fetch nothing."""
        prepare = exchange.endpoint.prepare
        if prepare is not None:
            assert exchange.principal is not None  # authenticated at admission
            customer = exchange.principal.customer_id
            exchange.body = await prepare(self._ports, customer, exchange.body)

    async def _keep(self, exchange: Exchange, routed: Routed[Answer]) -> Routed[Answer]:
        """The endpoint's one step after a good answer (outputs stored)."""
        keep = exchange.endpoint.keep
        if keep is None or isinstance(routed.result, OpenStream):
            return routed
        assert exchange.principal is not None
        try:
            customer = exchange.principal.customer_id
            kept = await keep(self._ports, customer, exchange.model, routed.result)
        except TwelveError as exc:
            # The answer was made (and is billed): the client gets it, unstored.
            log.warning("output_not_kept", cause=exc.message)
            return routed
        return Routed(kept, routed.deployment, routed.attempts)

    async def _route(self, exchange: Exchange, plan: list[DeploymentRef]) -> Routed[Answer]:
        endpoint, ports, body = exchange.endpoint, self._ports, exchange.body
        stream = endpoint.stream if endpoint.streams(body) else None

        async def call(deployment: DeploymentRef) -> Answer:
            exchange.deployment = deployment
            structlog.contextvars.bind_contextvars(deployment=deployment.id)
            started = perf_counter()
            try:
                if stream is not None:
                    return await open_stream(stream(ports, deployment, body))
                return await endpoint.call(ports, deployment, body)
            finally:
                exchange.upstream_seconds += perf_counter() - started

        # The routing decision's span (`twelve.route`) is the router's.
        routed = await self.router.route(
            plan, call, plans=self._models.plan, capability=endpoint.capability, body=body
        )
        if isinstance(routed.result, OpenStream):
            record_overhead(exchange)  # up to the first chunk: the rest is the stream's pace
            # A stream is in flight on its deployment until it ends (least-busy counts it).
            release = self.router.hold(routed.deployment)

            async def settle(_ended: Exchange) -> None:
                release()

            exchange.settles.append(settle)
        return routed


def _from_cache(cached: CachedAnswer) -> Routed[Answer]:
    """A cached answer as routing would have given it (zero attempts): an object, or a stream
    replaying the stored chunks."""
    if cached.chunks is None:
        assert cached.answer is not None
        return Routed(cached.answer, cached.deployment, 0)
    return Routed(OpenStream(cached.chunks[0], _replay(cached.chunks[1:])), cached.deployment, 0)


async def _replay(chunks: list[JSONObject]) -> AsyncIterator[JSONObject]:
    for chunk in chunks:
        yield chunk


async def _unless_client_leaves(exchange: Exchange, work: Awaitable[T]) -> T:
    """`work`'s result, or `ClientGone` once the client has left: `work` is then cancelled,
    which closes its upstream connection. One watcher task; `work` runs in the caller's task."""
    client_gone = exchange.client_gone
    if client_gone is None:
        return await work
    me = asyncio.current_task()
    assert me is not None
    left = False

    async def watch() -> None:
        nonlocal left
        await client_gone()
        left = True
        me.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        return await work
    except asyncio.CancelledError:
        if left and me.uncancel() == 0:  # our own cancellation, not the server's
            raise ClientGone(
                "The client closed the connection before the answer was ready."
            ) from None
        raise
    finally:
        watcher.cancel()


# Refusals counted in `twelve_rejections_total`, by their OpenAI code. (An expired key is
# counted where keys are checked.)
_REJECTION_REASONS = {
    "rate_limit_exceeded": "rate_limit",
    "insufficient_quota": "insufficient_quota",
    "budget_exceeded": "budget",
}


def _count_rejection(exc: BaseException) -> None:
    reason = _REJECTION_REASONS.get(exc.code or "") if isinstance(exc, TwelveError) else None
    if reason is not None:
        REJECTIONS.labels(reason).inc()


def _log_context(exchange: Exchange) -> None:
    """Who the request is for, in every log line it writes from here on (the access log's
    too): the key's id, never the key."""
    principal = exchange.principal
    if principal is None:
        return
    structlog.contextvars.bind_contextvars(
        customer_id=principal.customer_id, key_id=principal.key_id, model=exchange.model or None
    )


def _outcome_of(exc: BaseException, exchange: Exchange) -> Outcome:
    if isinstance(exc, ClientGone | asyncio.CancelledError):
        return "client_gone"
    if not isinstance(exc, TwelveError):
        return "error"
    return "upstream_error" if exchange.dispatched else "refused"
