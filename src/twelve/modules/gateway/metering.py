"""Usage metering: tokens in and out by model and customer, recorded once per request by the
finaliser. The customer label is the customer's id (one series per customer and model, as the
cost metric has)."""

from __future__ import annotations

from typing import Any

from twelve.kernel.telemetry.metrics import TOKENS


def record_usage(model: str, usage: dict[str, Any] | None, customer: str = "") -> None:
    if not usage:
        return
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    if isinstance(prompt, int) and prompt > 0:
        TOKENS.labels(model, customer, "in").inc(prompt)
    if isinstance(completion, int) and completion > 0:
        TOKENS.labels(model, customer, "out").inc(completion)
