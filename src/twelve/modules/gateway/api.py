"""Public surface of the gateway module: API keys (issued, changed, rotated and revoked by admin),
who a request is made for, and what routing knows of each deployment (`RoutingStateService`).

Limits: `rpm` (requests per minute), `tpm` (tokens per minute), `max_concurrency` (requests in
flight) apply per key and, from the customer's own limits, across all of a customer's keys; None
is "no limit". A key's `budget` caps what it may spend per UTC day or month (held and charged by
the credits module in the same conditional write as the customer's balance).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.kernel.commands import command
from twelve.kernel.quotas import Budget, Limits
from twelve.kernel.text import PrintableStr

__all__ = [
    "ApiKey",
    "Budget",
    "CreateApiKey",
    "DeploymentState",
    "IssuedApiKey",
    "KeyPage",
    "KeysService",
    "Limits",
    "Principal",
    "RotateApiKey",
    "RoutingStateService",
    "UpdateApiKey",
]


class CreateApiKey(Limits):
    model_config = ConfigDict(extra="forbid", frozen=False)

    customer_id: PrintableStr = Field(
        min_length=1, max_length=200, description="The customer's id or name."
    )
    name: PrintableStr = Field(default="default", min_length=1, max_length=200)
    models: list[PrintableStr] | None = Field(
        default=None,
        description="Allow-list of configured model names; null or absent allows every model.",
    )
    budget: Budget | None = None
    expires_at: int | None = Field(
        default=None, ge=0, strict=True, description="Unix seconds; the key is refused from then."
    )
    cache: bool = Field(
        default=True,
        strict=True,
        description="Whether the prompt cache may answer this key (for models that have one).",
    )


class UpdateApiKey(Limits):
    """PATCH: only the fields sent change; a field sent as null is cleared."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    name: PrintableStr | None = Field(default=None, min_length=1, max_length=200)
    models: list[PrintableStr] | None = None
    budget: Budget | None = None
    expires_at: int | None = Field(default=None, ge=0, strict=True)
    cache: bool | None = Field(default=None, strict=True)


class RotateApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: int = Field(
        default=3600,
        ge=0,
        le=30 * 86400,
        strict=True,
        description="How long the old secret keeps working; 0 revokes it at once.",
    )


class ApiKey(BaseModel):
    """An API key as admins see it: never the key itself, only its first characters."""

    model_config = ConfigDict(frozen=True)

    id: str
    customer_id: str
    name: str
    prefix: str
    models: list[str] | None
    created_at: int
    revoked_at: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    max_concurrency: int | None = None
    budget: Budget | None = None
    expires_at: int | None = None
    # Set by a rotation: the previous secret works until `previous_expires_at`.
    rotated_at: int | None = None
    previous_expires_at: int | None = None
    # Whether the prompt cache may answer this key (models with a `cache:` only).
    cache: bool = True


class IssuedApiKey(ApiKey):
    """The responses that carry the full key: issuing and rotating."""

    key: str


class KeyPage(BaseModel):
    """One page of keys, oldest first; ask for the next with `after=last_id`."""

    model_config = ConfigDict(frozen=True)

    data: list[ApiKey]
    has_more: bool


class Principal(BaseModel):
    """Who is calling: the key and customer a request is made for."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    customer_id: str
    models: frozenset[str] | None
    # The key's own limits and the customer's (shared by all its keys).
    limits: Limits = Limits()
    customer_limits: Limits = Limits()
    budget: Budget | None = None
    # Unix seconds; checked on every request (a cached principal may outlive it).
    expires_at: float | None = None
    # False: the prompt cache never answers this key.
    cache: bool = True

    def may_use(self, model: str) -> bool:
        return self.models is None or model in self.models


class KeysService(Protocol):
    # Commands (`@command`): a remote caller that lost the answer retries with the same
    # idempotency key and gets the first answer, so one request issues one key.
    @command
    async def create_key(self, command: CreateApiKey) -> IssuedApiKey: ...

    async def list_keys(
        self, customer_id: str | None = None, limit: int = 100, after: str | None = None
    ) -> KeyPage: ...

    async def get_key(self, key_id: str) -> ApiKey | None: ...

    @command
    async def update_key(self, key_id: str, command: UpdateApiKey) -> ApiKey:
        """Change the fields sent; `NotFound` for an unknown key. Takes effect within the key
        cache's time everywhere, at once in this process."""
        ...

    @command
    async def rotate_key(self, key_id: str, command: RotateApiKey) -> IssuedApiKey:
        """A new secret for the same key (its id, limits and usage stay); the old secret works
        for `grace_seconds` more. `NotFound` for an unknown or revoked key."""
        ...

    @command
    async def revoke_key(self, key_id: str) -> ApiKey:
        """Raises `NotFound` for an unknown key. Takes effect within a second everywhere."""
        ...

    async def authenticate(self, key: str) -> Principal | None: ...


class DeploymentState(BaseModel):
    """What this gateway process's routing knows of one deployment it has sent requests to."""

    model_config = ConfigDict(frozen=True)

    deployment: str
    breaker: Literal["closed", "open", "half_open"]
    # When the current ejection ends (None: not ejected); a half-open breaker's ended.
    ejected_until: datetime | None = None
    # Ejections since the process started; `ejected_by_peer`: the current one is another
    # gateway process's, shared through Redis.
    ejections: int = 0
    ejected_by_peer: bool = False
    # The models module's active health checks found it unhealthy: routing skips it.
    actively_unhealthy: bool = False
    # Moving average of seconds to the answer (or first chunk); None: not measured lately.
    latency_seconds: float | None = None
    in_flight: int = 0


class RoutingStateService(Protocol):
    async def deployment_states(self) -> list[DeploymentState]:
        """Every deployment this process has routed to, or marked unhealthy, in no order."""
        ...
