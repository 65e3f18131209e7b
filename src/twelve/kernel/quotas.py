"""Quotas as values that several modules speak: rate limits (kept by the gateway, set on keys and
on customers) and spend budgets (set on keys, enforced by the credits module's holds)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

__all__ = ["MAX_BUDGET_USD", "Budget", "Limits"]

# The most a budget may be: a typo guard, as for credits.
MAX_BUDGET_USD = Decimal(1_000_000_000)
# Limits are bounded so that a typo cannot overflow a counter.
_MAX_RATE = 1_000_000_000


class Budget(BaseModel):
    """A spend cap in USD per UTC calendar `period`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Read exactly (a Decimal of at most 6 places); written to JSON as a number, like every
    # other amount in the API: ≤ 15 significant digits, so the float is exact when read back.
    amount: Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")] = Field(
        gt=0, le=MAX_BUDGET_USD, decimal_places=6, allow_inf_nan=False, description="USD."
    )
    period: Literal["day", "month"]


class Limits(BaseModel):
    """Rate limits; None (or absent) is no limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rpm: int | None = Field(default=None, ge=1, le=_MAX_RATE, strict=True)
    tpm: int | None = Field(default=None, ge=1, le=_MAX_RATE, strict=True)
    max_concurrency: int | None = Field(default=None, ge=1, le=_MAX_RATE, strict=True)

    @property
    def any(self) -> bool:
        return self.rpm is not None or self.tpm is not None or self.max_concurrency is not None
