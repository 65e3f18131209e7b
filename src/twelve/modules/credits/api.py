"""Public surface of the credits module: customers, their prepaid balances, the ledger and holds.

Money crosses this port in integer micro-dollars (`*_micros`: 1 USD = 1,000,000); only the admin
API's input and display fields are USD. A request's worst-case cost is held at admission in one
conditional write (`HoldsService.hold`) and settled exactly once at its end (`settle`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.kernel.commands import command
from twelve.kernel.errors import TwelveError
from twelve.kernel.text import PrintableStr

__all__ = [
    "Account",
    "AddCredits",
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
]

# The most one top-up (or opening balance) may add: a typo guard, not a business limit.
MAX_CREDIT_USD = Decimal(1_000_000_000)
Usd = Decimal


class InsufficientQuota(TwelveError):
    """The customer's available balance cannot cover the request's worst-case cost."""

    status = 402
    type = "insufficient_quota"
    code = "insufficient_quota"


class CreateCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

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


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    created_at: int


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


class CustomersService(Protocol):
    @command
    async def create_customer(self, command: CreateCustomer) -> Customer:
        """Raises `Conflict` when the name is taken."""
        ...

    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def find_customer(self, name: str) -> Customer | None: ...

    async def list_customers(self) -> list[Customer]: ...


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
