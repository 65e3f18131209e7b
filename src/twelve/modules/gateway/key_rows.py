"""How a key's row maps to what the port speaks, and the checks a key's settings must pass before
they are written (on create and on PATCH alike).

A budget is stored in integer micro-dollars with its period; the port speaks USD as a Decimal,
converted exactly both ways (a budget has at most six decimal places).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from twelve.kernel.errors import InvalidRequest
from twelve.kernel.quotas import Budget, Limits
from twelve.modules.gateway.api import ApiKey, UpdateApiKey

_MICROS_PER_USD = 1_000_000
# 9999-12-31T23:59:59Z. A larger `expires_at` is surely milliseconds (or a typo), not a date.
_LATEST_EXPIRY = 253_402_300_799
LIMIT_FIELDS = tuple(Limits.model_fields)


def api_key(row: Mapping[Any, Any]) -> ApiKey:
    return ApiKey(
        id=row["id"],
        customer_id=row["customer_id"],
        name=row["name"],
        prefix=row["prefix"],
        models=row["models"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        rpm=row["rpm"],
        tpm=row["tpm"],
        max_concurrency=row["max_concurrency"],
        budget=budget_of(row),
        expires_at=row["expires_at"],
        rotated_at=row["rotated_at"],
        previous_expires_at=row["previous_expires_at"],
        cache=row["cache"],
    )


def limits_of(row: Mapping[Any, Any]) -> Limits:
    return Limits(**{name: row[name] for name in LIMIT_FIELDS})


def budget_of(row: Mapping[Any, Any]) -> Budget | None:
    micros, period = row["budget_micros"], row["budget_period"]
    if micros is None or period is None:
        return None
    return Budget(amount=Decimal(micros) / _MICROS_PER_USD, period=period)


def budget_columns(budget: Budget | None) -> dict[str, Any]:
    if budget is None:
        return {"budget_micros": None, "budget_period": None}
    return {"budget_micros": int(budget.amount * _MICROS_PER_USD), "budget_period": budget.period}


def allow_list(models: list[str] | None) -> list[str] | None:
    """The allow-list as stored: sorted, without repeats; None allows every model. An empty
    list would allow nothing, which is surely a mistake: a 400."""
    if models is None:
        return None
    if not models:
        raise InvalidRequest(
            "`models` must name at least one model, or be null (or omitted) to allow every model.",
            param="models",
        )
    return sorted(set(models))


def check_expiry(expires_at: int | None) -> int | None:
    """A key may not be made already expired (to stop a key, revoke it), and `expires_at` is in
    seconds: a value in milliseconds would be a key that never expires."""
    if expires_at is None:
        return None
    if expires_at <= time.time():
        raise InvalidRequest(
            f"`expires_at` ({expires_at}) is not in the future; to stop a key now, revoke it.",
            param="expires_at",
        )
    if expires_at > _LATEST_EXPIRY:
        raise InvalidRequest(
            f"`expires_at` ({expires_at}) is past the year 9999: it takes Unix seconds, "
            "not milliseconds.",
            param="expires_at",
        )
    return expires_at


def changes(command: UpdateApiKey) -> dict[str, Any]:
    """The columns a PATCH changes: only the fields it sent; a field sent as null is cleared."""
    sent = command.model_fields_set
    values: dict[str, Any] = {}
    if "name" in sent:
        if command.name is None:
            raise InvalidRequest("`name` cannot be null.", param="name")
        values["name"] = command.name
    if "models" in sent:
        values["models"] = allow_list(command.models)
    if "budget" in sent:
        values |= budget_columns(command.budget)
    if "expires_at" in sent:
        values["expires_at"] = check_expiry(command.expires_at)
    if "cache" in sent:
        if command.cache is None:
            raise InvalidRequest("`cache` cannot be null: send true or false.", param="cache")
        values["cache"] = command.cache
    for name in LIMIT_FIELDS:
        if name in sent:
            values[name] = getattr(command, name)
    return values
