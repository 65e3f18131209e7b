"""The gateway service: who is calling, which deployments may serve them, and the call itself
with retries and fallbacks. HTTP concerns stay in `http.py`."""

from __future__ import annotations

from twelve.kernel.errors import AuthenticationFailed, PermissionDenied
from twelve.modules.chat.api import ChatService
from twelve.modules.completion.api import CompletionService
from twelve.modules.embeddings.api import EmbeddingsService
from twelve.modules.gateway.api import KeysService, Principal
from twelve.modules.gateway.metering import record_usage
from twelve.modules.gateway.routing import RetryPolicy, Routed, route
from twelve.modules.gateway.streaming import OpenStream, open_stream
from twelve.modules.models.api import (
    Capability,
    DeploymentRef,
    JSONObject,
    ModelCard,
    ModelsService,
)


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
    ) -> None:
        self._keys = keys
        self._models = models
        self._chat = chat
        self._completion = completion
        self._embeddings = embeddings
        self._policy = policy

    async def authenticate(self, token: str) -> Principal:
        """The caller of a request that presented `token` (empty when it presented none)."""
        if not token:
            raise AuthenticationFailed(
                "You didn't provide an API key. Send it as 'Authorization: Bearer tw-...'.",
                code="missing_api_key",
            )
        principal = await self._keys.authenticate(token)
        if principal is None:
            raise AuthenticationFailed("Incorrect API key provided.")
        return principal

    async def list_models(self, principal: Principal) -> list[ModelCard]:
        return [m for m in await self._models.list_models() if principal.may_use(m.id)]

    async def plan(
        self, principal: Principal, model: str, capability: Capability
    ) -> list[DeploymentRef]:
        if not principal.may_use(model):
            raise PermissionDenied(
                f"This API key is not allowed to use the model `{model}`.", param="model"
            )
        return await self._models.plan(model, capability)

    async def chat(self, principal: Principal, body: JSONObject) -> Routed[JSONObject]:
        plan = await self.plan(principal, body["model"], "chat")
        routed = await route(plan, lambda d: self._chat.complete(d, body), self._policy)
        record_usage(routed.deployment.model, routed.result.get("usage"))
        return routed

    async def chat_stream(self, principal: Principal, body: JSONObject) -> Routed[OpenStream]:
        plan = await self.plan(principal, body["model"], "chat")
        return await route(plan, lambda d: open_stream(self._chat.stream(d, body)), self._policy)

    async def completion(self, principal: Principal, body: JSONObject) -> Routed[JSONObject]:
        plan = await self.plan(principal, body["model"], "completions")
        routed = await route(plan, lambda d: self._completion.complete(d, body), self._policy)
        record_usage(routed.deployment.model, routed.result.get("usage"))
        return routed

    async def completion_stream(self, principal: Principal, body: JSONObject) -> Routed[OpenStream]:
        plan = await self.plan(principal, body["model"], "completions")
        return await route(
            plan, lambda d: open_stream(self._completion.stream(d, body)), self._policy
        )

    async def embeddings(self, principal: Principal, body: JSONObject) -> Routed[JSONObject]:
        plan = await self.plan(principal, body["model"], "embeddings")
        routed = await route(plan, lambda d: self._embeddings.embed(d, body), self._policy)
        record_usage(routed.deployment.model, routed.result.get("usage"))
        return routed
