"""The gateway service: the front door of every public request.

It assembles the request pipeline (admission stages, routing, the finaliser) from the ports it
is given, and answers the model-listing routes. HTTP concerns stay in `http.py`; what a request
goes through is in `pipeline.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from twelve.modules.audio.api import AudioService
from twelve.modules.chat.api import ChatService
from twelve.modules.completion.api import CompletionService
from twelve.modules.embeddings.api import EmbeddingsService
from twelve.modules.gateway.api import KeysService, Principal
from twelve.modules.gateway.endpoints import FeaturePorts
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.finaliser import Finaliser
from twelve.modules.gateway.pipeline import Answer, Pipeline, PlanCache
from twelve.modules.gateway.routing import RetryPolicy, Routed
from twelve.modules.gateway.stages.allow_list import AllowList, check_allowed, model_not_found
from twelve.modules.gateway.stages.authenticate import Authenticate
from twelve.modules.gateway.stages.capability_offered import CapabilityOffered
from twelve.modules.gateway.stages.request_schema import ReadBody
from twelve.modules.gateway.stages.stage import Stage
from twelve.modules.images.api import ImagesService
from twelve.modules.models.api import ModelCard, ModelsService


class Gateway:
    def __init__(
        self,
        *,
        keys: KeysService,
        models: ModelsService,
        chat: ChatService,
        completion: CompletionService,
        embeddings: EmbeddingsService,
        policy: RetryPolicy,
        images: ImagesService | None = None,
        audio: AudioService | None = None,
        admission: Sequence[Stage] = (),
        meter: Callable[[Exchange], None] | None = None,
    ) -> None:
        """`admission`: stages that run after the allow-list and before routing, in order (rate
        limit, credit hold, cache, as they land). `meter`: takes each ended request's usage."""
        self._models = PlanCache(models)
        self._authenticate = Authenticate(keys)
        self.finaliser = Finaliser(meter)
        self.pipeline = Pipeline(
            stages=(
                self._authenticate,
                ReadBody(),
                AllowList(),
                CapabilityOffered(self._models),
                *admission,
            ),
            ports=FeaturePorts(
                chat=chat,
                completion=completion,
                embeddings=embeddings,
                models=models,
                images=images,
                audio=audio,
            ),
            models=self._models,
            policy=policy,
            finaliser=self.finaliser,
        )
        # What routing knows of each deployment, for the health watch, shared breakers and the
        # admin view.
        self.board = self.pipeline.router.stats

    async def authenticate(self, token: str) -> Principal:
        """The caller of a request that presented `token` (empty when it presented none)."""
        return await self._authenticate.principal(token)

    async def list_models(self, principal: Principal) -> list[ModelCard]:
        return [m for m in await self._models.list_models() if principal.may_use(m.id)]

    async def get_model(self, principal: Principal, model: str) -> ModelCard:
        check_allowed(principal, model)
        for card in await self._models.list_models():
            if card.id == model:
                return card
        raise model_not_found(model)

    async def serve(self, exchange: Exchange) -> Routed[Answer]:
        return await self.pipeline.run(exchange)
