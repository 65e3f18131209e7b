"""Money as integer micro-dollars: USD amounts become integers at the edge and stay integers.

1 USD = 1,000,000 micros, so a price in USD per million tokens is exactly micros per token.
Floats appear only in what is displayed (`micros_to_usd`), never in what is stored or summed.
"""

from __future__ import annotations

from decimal import Decimal

MICROS_PER_USD = 1_000_000


def usd_to_micros(amount: Decimal) -> int:
    """Exact: amounts are validated to at most 6 decimal places before they get here."""
    micros = amount * MICROS_PER_USD
    if micros != micros.to_integral_value():
        raise ValueError(f"{amount} USD is not a whole number of micro-dollars")
    return int(micros)


def micros_to_usd(micros: int) -> float:
    return micros / MICROS_PER_USD
