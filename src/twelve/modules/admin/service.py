"""Admin commands over other modules' public APIs: customers (credits) and keys (gateway).

The admin API and the CLI both go through here, so they behave the same: a customer is addressed
by id or by name everywhere (an unknown one is a 404), a key's model allow-list may name only
configured models, and an identifier with control characters is a 400 naming the field before any
database sees it.
"""

from __future__ import annotations

from decimal import Decimal

from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.kernel.text import MESSAGE, has_control_characters
from twelve.kernel.time_window import time_window
from twelve.modules.admin.models_view import ModelRouting, models_view
from twelve.modules.credits.api import (
    Account,
    AddCredits,
    CreateCustomer,
    CreditGrant,
    Customer,
    CustomersService,
    LedgerEntry,
    LedgerService,
    UpdateCustomer,
    UsageBucket,
    UsageQuery,
    UsageService,
)
from twelve.modules.events.api import EventsService
from twelve.modules.gateway.api import (
    ApiKey,
    CreateApiKey,
    IssuedApiKey,
    KeyPage,
    KeysService,
    RotateApiKey,
    RoutingStateService,
    UpdateApiKey,
)
from twelve.modules.jobs.api import JobsService, WorkflowsService
from twelve.modules.models.api import ModelsService


def printable(value: str, param: str) -> str:
    """`value`, or a 400 naming `param` when it holds control characters."""
    if has_control_characters(value):
        raise InvalidRequest(f"Invalid value for '{param}': {MESSAGE}.", param=param)
    return value


class Administration:
    def __init__(
        self,
        customers: CustomersService,
        keys: KeysService,
        models: ModelsService,
        ledger: LedgerService | None = None,
        usage: UsageService | None = None,
        routing: RoutingStateService | None = None,
        *,
        events: EventsService | None = None,
        jobs: JobsService | None = None,
        workflows: WorkflowsService | None = None,
    ) -> None:
        self.customers = customers
        self.keys = keys
        self.models = models
        self._ledger = ledger
        self._usage = usage
        self._routing = routing
        self.events = events
        self.jobs = jobs
        self.workflows = workflows

    async def create_customer(self, name: str, credits: Decimal | int = 0) -> Customer:
        """Raises pydantic's `ValidationError` for a name or opening balance that is not
        acceptable."""
        return await self.customers.create_customer(CreateCustomer(name=name, credits=credits))

    async def create_account(self, command: CreateCustomer) -> Account:
        customer = await self.customers.create_customer(command)
        return await self.account(customer.id)

    async def account(self, ref: str, param: str = "customer") -> Account:
        """The customer `ref` names (id or name) with its balance."""
        customer = await self.customer(ref, param)
        found = await self.ledger_port.account(customer.id)
        if found is None:
            raise NotFound(f"No such customer: {ref!r}.", param=param)
        return found

    async def add_credits(
        self, ref: str, command: AddCredits, idempotency_key: str | None = None
    ) -> CreditGrant:
        customer = await self.customer(ref, "customer")
        return await self.ledger_port.add_credits(customer.id, command, idempotency_key)

    async def ledger(self, ref: str, limit: int = 100) -> list[LedgerEntry]:
        customer = await self.customer(ref, "customer")
        return await self.ledger_port.ledger(customer.id, limit)

    @property
    def ledger_port(self) -> LedgerService:
        if self._ledger is None:
            raise InvalidRequest("The credits ledger is not served by this process.")
        return self._ledger

    async def update_customer(self, ref: str, command: UpdateCustomer) -> Account:
        """Change the customer `ref` names (id or name); shown with its balance, as GET does."""
        customer = await self.customer(ref, "customer")
        await self.customers.update_customer(customer.id, command)
        return await self.account(customer.id)

    async def list_customers(self) -> list[Customer]:
        return await self.customers.list_customers()

    async def customer(self, ref: str, param: str = "customer") -> Customer:
        """The customer whose id, or else whose name, is `ref`; `NotFound` naming `param`."""
        printable(ref, param)
        found = await self.customers.get_customer(ref) or await self.customers.find_customer(ref)
        if found is None:
            raise NotFound(f"No such customer: {ref!r} (neither an id nor a name).", param=param)
        return found

    async def create_key(self, command: CreateApiKey) -> IssuedApiKey:
        """A key for the customer `command.customer_id` names (by id or name)."""
        customer = await self.customer(command.customer_id, "customer_id")
        if command.models:
            await self._check_models(command.models)
        return await self.keys.create_key(command.model_copy(update={"customer_id": customer.id}))

    async def create_key_for(
        self, customer: str, name: str = "default", models: list[str] | None = None
    ) -> IssuedApiKey:
        return await self.create_key(CreateApiKey(customer_id=customer, name=name, models=models))

    async def list_keys(
        self,
        customer: str | None = None,
        param: str = "customer",
        limit: int = 100,
        after: str | None = None,
    ) -> KeyPage:
        """A page of keys, oldest first (of one customer, by id or name, when given)."""
        customer_id = None if customer is None else (await self.customer(customer, param)).id
        if after is not None:
            printable(after, "after")
        return await self.keys.list_keys(customer_id, limit, after)

    async def key(self, key_id: str, param: str = "id") -> ApiKey:
        found = await self.keys.get_key(printable(key_id, param))
        if found is None:
            raise NotFound(f"No such API key: {key_id!r}.", param=param)
        return found

    async def update_key(self, key_id: str, command: UpdateApiKey, param: str = "id") -> ApiKey:
        """Change the fields `command` sends; a new allow-list may name only configured models."""
        printable(key_id, param)
        if command.models:
            await self._check_models(command.models)
        return await self.keys.update_key(key_id, command)

    async def rotate_key(
        self, key_id: str, command: RotateApiKey, param: str = "id"
    ) -> IssuedApiKey:
        return await self.keys.rotate_key(printable(key_id, param), command)

    async def revoke_key(self, key_id: str, param: str = "id") -> ApiKey:
        return await self.keys.revoke_key(printable(key_id, param))

    async def _check_models(self, names: list[str]) -> None:
        known = {card.id for card in await self.models.list_models()}
        unknown = sorted(set(names) - known)
        if unknown:
            listed = ", ".join(repr(n) for n in unknown)
            raise InvalidRequest(
                f"`models` names no configured model: {listed}. Configured: "
                f"{', '.join(sorted(known)) or 'none'}.",
                param="models",
                code="model_not_found",
            )

    # Usage reports (the admin API's GET /usage and `twelve usage`).

    async def usage(
        self,
        *,
        customer: str | None = None,
        key_id: str | None = None,
        model: str | None = None,
        since: str | None = None,
        until: str | None = None,
        group_by: str = "day",
        customer_param: str = "customer_id",
    ) -> list[UsageBucket]:
        """Usage totals per `group_by` (day, model, key or customer). `customer` by id or name;
        `since`/`until` as unix seconds or UTC dates (an `until` date includes that day)."""
        if self._usage is None:
            raise InvalidRequest("Usage is not served by this process.")
        if group_by not in _USAGE_GROUPS:
            raise InvalidRequest(
                f"Invalid value for 'group_by': {group_by[:40]!r}; use {', '.join(_USAGE_GROUPS)}.",
                param="group_by",
            )
        start, stop = time_window(since, until)
        customer_id = (
            None if customer is None else (await self.customer(customer, customer_param)).id
        )
        query = UsageQuery.model_validate(
            {
                "customer_id": customer_id,
                "key_id": None if key_id is None else printable(key_id, "key_id"),
                "model": None if model is None else printable(model, "model"),
                "since": start,
                "until": stop,
                "group_by": group_by,
            }
        )
        return await self._usage.usage(query)

    async def models_view(self, *, check_now: bool = False) -> list[ModelRouting]:
        """Every model with its routing, every deployment with its health and breaker;
        `check_now`: run every health check first (`twelve models`, whose process runs none)."""
        if self._routing is None:
            raise InvalidRequest("Routing state is not served by this process.")
        if check_now:
            await self.models.check_health()
        return await models_view(self.models, self._routing)


_USAGE_GROUPS = ("day", "model", "key", "customer")
