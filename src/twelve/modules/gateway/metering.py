"""Usage metering: tokens in and out by model, recorded once per request by the finaliser."""

from __future__ import annotations

from typing import Any

from twelve.kernel.telemetry.metrics import TOKENS


def record_usage(model: str, usage: dict[str, Any] | None) -> None:
    if not usage:
        return
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    if isinstance(prompt, int) and prompt > 0:
        TOKENS.labels(model, "in").inc(prompt)
    if isinstance(completion, int) and completion > 0:
        TOKENS.labels(model, "out").inc(completion)
