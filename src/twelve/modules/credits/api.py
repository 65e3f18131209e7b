"""Public surface of the credits module: customers, their prepaid balances, the ledger, holds and
usage.

Money crosses this port in integer micro-dollars (`*_micros`: 1 USD = 1,000,000); only the admin
API's input and display fields are USD. A request's worst-case cost is held at admission in one
conditional write (`HoldsService.hold`) and settled exactly once at its end (`settle`). A hold
made for a key with a budget counts against the key's spend for the budget's period in the same
write. Every finished request leaves one usage row (`UsageService`), written in batches.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.kernel.commands import command
from twelve.kernel.errors import TwelveError
from twelve.kernel.quotas import Budget, Limits
from twelve.kernel.text import PrintableStr

__all__ = [
    "Account",
    "AddCredits",
    "BudgetExceeded",
    "CreateCustomer",
    "CreditGrant",
    "Customer",
    "CustomersService",
    "Hold",
    "HoldsService",
    "InsufficientQuota",
    "LedgerEntry",
    "LedgerService",
    "PlaceHold",
    "Settlement",
    "SweepResult",
    "UpdateCustomer",
    "UsageBucket",
    "UsageQuery",
    "UsageRecord",
    "UsageService",
]

# The most one top-up (or opening balance) may add: a typo guard, not a business limit.
MAX_CREDIT_USD = Decimal(1_000_000_000)
Usd = Decimal


class InsufficientQuota(TwelveError):
    """The customer's available balance cannot cover the request's worst-case cost."""

    status = 402
    type = "insufficient_quota"
    code = "insufficient_quota"


class BudgetExceeded(InsufficientQuota):
    """The key's budget for its period cannot cover the request's worst-case cost."""

    code = "budget_exceeded"


class CreateCustomer(Limits):
    """A customer; `rpm`, `tpm` and `max_concurrency` limit all of its keys together."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    name: PrintableStr = Field(
        min_length=1,
        max_length=200,
        pattern=r"^\S(.*\S)?$",
        description="Unique; no leading or trailing spaces, no control characters.",
    )
    credits: Usd = Field(
        default=Decimal(0),
        ge=0,
        le=MAX_CREDIT_USD,
        decimal_places=6,
        allow_inf_nan=False,
        description="Opening balance in USD (at most 6 decimal places).",
    )


class UpdateCustomer(Limits):
    """PATCH: only the fields sent change; a limit sent as null is cleared."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    name: PrintableStr | None = Field(
        default=None, min_length=1, max_length=200, pattern=r"^\S(.*\S)?$"
    )


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    created_at: int
    limits: Limits = Limits()


class AddCredits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Usd = Field(
        gt=0,
        le=MAX_CREDIT_USD,
        decimal_places=6,
        allow_inf_nan=False,
        description="USD to add (at most 6 decimal places).",
    )
    reason: PrintableStr = Field(default="", max_length=500)


class Account(BaseModel):
    """A customer with its balance: `balance` is posted money, `held` is reserved by requests in
    flight, `available` = balance - held."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    created_at: int
    rpm: int | None = None
    tpm: int | None = None
    max_concurrency: int | None = None
    balance: float
    held: float
    available: float
    balance_micros: int
    held_micros: int
    open_holds: int


class CreditGrant(BaseModel):
    model_config = ConfigDict(frozen=True)

    transaction_id: str
    customer_id: str
    amount: float
    amount_micros: int
    reason: str
    balance_micros: int
    created_at: int


class LedgerEntry(BaseModel):
    """One line of the append-only journal; a transaction's lines sum to zero."""

    model_config = ConfigDict(frozen=True)

    id: int
    transaction_id: str
    account_id: str
    kind: Literal["credit", "charge"]
    amount_micros: int
    amount: float
    reason: str
    hold_id: str | None
    created_at: int


class PlaceHold(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: str
    amount_micros: int = Field(gt=0)
    request_id: str = ""
    ttl_seconds: float = Field(default=900, gt=0)
    # The key the request is made with, and its budget: the hold must fit the key's remaining
    # budget for the current period too (`BudgetExceeded` otherwise).
    key_id: str = ""
    budget: Budget | None = None


class Hold(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    customer_id: str
    amount_micros: int
    expires_at: float


class Settlement(BaseModel):
    model_config = ConfigDict(frozen=True)

    hold_id: str
    # False when the hold had already been settled or voided: nothing was written.
    applied: bool
    charged_micros: int = 0
    # The actual cost was above the hold: charged in full and flagged.
    overrun: bool = False


class SweepResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Expired holds settled at the hold: whether their upstream billed is unknown.
    settled: int


class UsageRecord(BaseModel):
    """One finished request, as metered at its end. `cost_micros` is what was charged (0 for a
    free or unpriced request); `unpriced`: no price was known, the tokens were billed at 0.
    `images`, `audio_seconds` and `characters` are the units billed per unit rather than per
    token (images made, analysed or pages read; seconds transcribed or spoken; characters
    spoken), as the answer's usage reported them."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    customer_id: str
    key_id: str
    model: str
    deployment: str = ""
    endpoint: str = ""
    outcome: str = "ok"
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    audio_seconds: float = 0.0
    characters: int = 0
    cost_micros: int = 0
    unpriced: bool = False
    # The usage was unknown (stream cut, no usage reported): the tokens are 0, the cost is
    # what was charged for it (the hold).
    usage_unknown: bool = False
    at: float


class UsageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: str | None = None
    key_id: str | None = None
    model: str | None = None
    since: float | None = Field(default=None, description="Unix seconds, inclusive.")
    until: float | None = Field(default=None, description="Unix seconds, exclusive.")
    group_by: Literal["day", "model", "key", "customer"] = "day"


class UsageBucket(BaseModel):
    model_config = ConfigDict(frozen=True)

    # The group's value: a UTC date (YYYY-MM-DD), a model name, a key id or a customer id.
    group: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost: float
    cost_micros: int
    unpriced_requests: int
    # Units billed per unit (see `UsageRecord`); 0 for groups of token-only requests.
    images: int = 0
    audio_seconds: float = 0.0
    characters: int = 0


class CustomersService(Protocol):
    @command
    async def create_customer(self, command: CreateCustomer) -> Customer:
        """Raises `Conflict` when the name is taken."""
        ...

    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def find_customer(self, name: str) -> Customer | None: ...

    async def list_customers(self) -> list[Customer]: ...

    @command
    async def update_customer(self, customer_id: str, command: UpdateCustomer) -> Customer:
        """`NotFound` for an unknown customer; `Conflict` when the new name is taken."""
        ...


class LedgerService(Protocol):
    @command
    async def add_credits(
        self, customer_id: str, command: AddCredits, idempotency_key: str | None = None
    ) -> CreditGrant:
        """Credit the customer once per `idempotency_key`: the same key with the same command
        returns the first grant; with another command, `InvalidRequest`. `NotFound` for an
        unknown customer."""
        ...

    async def account(self, customer_id: str) -> Account | None: ...

    async def ledger(self, customer_id: str, limit: int = 100) -> list[LedgerEntry]: ...


class HoldsService(Protocol):
    @command
    async def hold(self, command: PlaceHold) -> Hold:
        """Reserve `amount_micros` of the customer's available balance in one conditional
        write; `InsufficientQuota` when it cannot be covered."""
        ...

    @command
    async def settle(self, hold_id: str, cost_micros: int | None) -> Settlement:
        """Charge `cost_micros` (None: unknown, charge the whole hold) and release the rest,
        once: a second call for the same hold writes nothing."""
        ...

    @command
    async def release(self, hold_id: str) -> Settlement:
        """Void the hold without charging (the upstream was never billed)."""
        ...

    @command
    async def sweep(self, now: float | None = None) -> SweepResult:
        """Settle at the hold every open hold whose time is up (idempotent)."""
        ...


class UsageService(Protocol):
    @command
    async def record_usage(self, records: list[UsageRecord]) -> int:
        """Store a batch of usage rows; a request id already stored is skipped (a retried batch
        writes nothing twice). Returns how many were new."""
        ...

    async def usage(self, query: UsageQuery) -> list[UsageBucket]:
        """Totals per group, in the group's order (days ascending, else by cost descending)."""
        ...
