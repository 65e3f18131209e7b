"""Public surface of the gateway module: API keys (issued and revoked by admin)."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.kernel.commands import command
from twelve.kernel.text import PrintableStr

__all__ = ["ApiKey", "CreateApiKey", "IssuedApiKey", "KeysService", "Principal"]


class CreateApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: PrintableStr = Field(
        min_length=1, max_length=200, description="The customer's id or name."
    )
    name: PrintableStr = Field(default="default", min_length=1, max_length=200)
    models: list[PrintableStr] | None = Field(
        default=None,
        description="Allow-list of configured model names; null or absent allows every model.",
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


class IssuedApiKey(ApiKey):
    """The one response that carries the full key."""

    key: str


class Principal(BaseModel):
    """Who is calling: the key and customer a request is made for."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    customer_id: str
    models: frozenset[str] | None

    def may_use(self, model: str) -> bool:
        return self.models is None or model in self.models


class KeysService(Protocol):
    # Commands (`@command`): a remote caller that lost the answer retries with the same
    # idempotency key and gets the first answer, so one request issues one key.
    @command
    async def create_key(self, command: CreateApiKey) -> IssuedApiKey: ...

    async def list_keys(self, customer_id: str | None = None) -> list[ApiKey]: ...

    @command
    async def revoke_key(self, key_id: str) -> ApiKey:
        """Raises `NotFound` for an unknown key. Takes effect within a second everywhere."""
        ...

    async def authenticate(self, key: str) -> Principal | None: ...
