"""Admission stage: requests per minute, tokens per minute and concurrent requests, per key and
per customer (all of a customer's keys together). Every limit that is set applies, so the
tighter one wins.

A key and customer with no limits cost nothing here: no store is asked. Otherwise the store is
asked once (one Redis round trip with `TWELVE_REDIS_URL`): one request from each RPM window, the
request's token estimate from each TPM window (its prompt's UTF-8 bytes, which bound its tokens
without the tokenizer, plus `max_tokens` or a default; when that is refused by a TPM window the
prompt's tokens are counted and the store asked once more), one slot from each concurrency limit.
The settle the finaliser calls exactly once corrects the tokens to the usage the upstream
reported (all of them given back when no upstream was reached; the estimate kept when usage is
unknown) and gives the slots back. A refusal is OpenAI's 429 `rate_limit_exceeded`, typed
`requests` or `tokens`, naming the limit, with `Retry-After` and the `x-ratelimit-*` headers;
an admitted request carries the same headers on its answer or stream. When the store cannot be
reached the request is admitted and a warning logged (fail open).
"""

from __future__ import annotations

import random
import time

import structlog

from twelve.kernel.errors import TwelveError
from twelve.kernel.quotas import Limits
from twelve.kernel.telemetry.logging import get_logger
from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.exchange import Exchange, Settle
from twelve.modules.gateway.stages.cost_estimate import input_bound, input_tokens, output_tokens
from twelve.modules.gateway.stages.limit_store import (
    LimitStore,
    Scope,
    Slots,
    Verdict,
    Window,
)
from twelve.modules.gateway.stages.rate_limit_headers import (
    duration,
    headers,
    retry_after,
    until_room,
)
from twelve.modules.models.api import JSONObject

log = get_logger("twelve.gateway.rate_limit")
_WARN_EVERY_SECONDS = 10.0


class RateLimited(TwelveError):
    status = 429
    type = "requests"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, unit: str, headers: dict[str, str]) -> None:
        super().__init__(message, headers=headers)
        self.type = unit


class RateLimit:
    def __init__(self, store: LimitStore, *, default_max_tokens: int) -> None:
        self._store = store
        self._default_max_tokens = default_max_tokens
        self._warned_at = -_WARN_EVERY_SECONDS

    async def admit(self, exchange: Exchange) -> Settle | None:
        principal = exchange.principal
        assert principal is not None  # authenticate runs first
        if not (principal.limits.any or principal.customer_limits.any):
            return None
        tokens = self.estimate(exchange)
        windows, slots = _limits_of(principal, tokens)
        request_id = structlog.contextvars.get_contextvars().get("request_id", "")
        member = f"{request_id}:{random.getrandbits(64):016x}"  # ids from clients may repeat
        try:
            verdict = await self._store.acquire(windows, slots, member)
            if _refused_for_tokens(windows, verdict):
                # The bound (bytes) was too much: count the prompt's tokens and ask once more,
                # as the credit hold does. Only refusals pay for the tokenizer.
                exact = await self.estimate_exactly(exchange)
                if exact < tokens:
                    tokens = exact
                    windows, slots = _limits_of(principal, tokens)
                    verdict = await self._store.acquire(windows, slots, member)
        except Exception as exc:
            # Fail open: a rate limiter that is down (Redis unreachable) must not take the
            # gateway down with it; the credit hold still bounds what anyone can spend.
            self._unavailable(exc)
            return None
        if verdict.refused is not None:
            raise _refusal(windows, slots, verdict)
        exchange.response_headers.update(headers(windows, verdict.windows, taken=True))
        metered = [w for w in windows if w.unit == "tokens"]
        if not metered and not slots:
            return None

        async def settle(ended: Exchange) -> None:
            actual = _tokens_used(ended, tokens)
            corrections = [(w, actual - tokens) for w in metered if actual != tokens]
            await self._store.release(corrections, slots, member)

        return settle

    async def estimate_exactly(self, exchange: Exchange) -> int:
        """`estimate` with the prompt's tokens counted (bpe-openai), not bounded."""
        body = exchange.body
        prompt = await input_tokens(body)
        if exchange.endpoint.capability == "embeddings":
            return prompt
        return prompt + output_tokens(body, self._default_max_tokens)

    def _unavailable(self, exc: Exception) -> None:
        """Logged at most every 10 s: a store that is down would otherwise log every request."""
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning("rate_limit_unavailable", cause=f"{type(exc).__name__}: {exc}")

    def estimate(self, exchange: Exchange) -> int:
        """The request's most tokens, without the tokenizer (see `cost_estimate`)."""
        body = exchange.body
        if exchange.endpoint.capability == "embeddings":
            return input_bound(body)
        return input_bound(body) + output_tokens(body, self._default_max_tokens)


def _refused_for_tokens(windows: list[Window], verdict: Verdict) -> bool:
    refused = verdict.refused
    return refused is not None and refused < len(windows) and windows[refused].unit == "tokens"


def _limits_of(principal: Principal, tokens: int) -> tuple[list[Window], list[Slots]]:
    windows: list[Window] = []
    slots: list[Slots] = []
    owned: tuple[tuple[Scope, str, Limits], ...] = (
        ("key", principal.key_id, principal.limits),
        ("customer", principal.customer_id, principal.customer_limits),
    )
    for scope, owner, limits in owned:
        if limits.rpm is not None:
            windows.append(Window(scope, owner, "requests", limits.rpm, 1))
        if limits.tpm is not None:
            windows.append(Window(scope, owner, "tokens", limits.tpm, tokens))
        if limits.max_concurrency is not None:
            slots.append(Slots(scope, owner, limits.max_concurrency))
    return windows, slots


def _tokens_used(ended: Exchange, estimate: int) -> int:
    """What the request really took from the TPM windows: its reported usage; nothing when no
    upstream was reached or none answered; the estimate when usage is unknown."""
    if not ended.dispatched or ended.outcome in ("refused", "upstream_error"):
        return 0
    return _total(ended.usage) if ended.usage is not None else estimate


def _total(usage: JSONObject) -> int:
    total = usage.get("total_tokens")
    if isinstance(total, int) and total >= 0:
        return total
    parts = (usage.get("prompt_tokens"), usage.get("completion_tokens"))
    return sum(p for p in parts if isinstance(p, int) and p > 0)


_NAMES = {
    "requests": "requests per min (RPM)",
    "tokens": "tokens per min (TPM)",
}


def _refusal(windows: list[Window], slots: list[Slots], verdict: Verdict) -> RateLimited:
    refused = verdict.refused
    assert refused is not None
    sent = headers(windows, verdict.windows, taken=False)
    if refused < len(windows):
        window, state = windows[refused], verdict.windows[refused]
        wait = until_room(state, window.limit, window.cost)
        used = state.used()
        if window.cost > window.limit:
            detail = (
                f"Limit {window.limit}, Requested {window.cost}. The request is larger than "
                "the limit allows in a minute: send fewer tokens or a smaller max_tokens."
            )
        else:
            detail = (
                f"Limit {window.limit}, Used {used}, Requested {window.cost}. "
                f"Please try again in {duration(max(wait, 0.001))}."
            )
        message = f"Rate limit reached for {window.scope} {window.owner} on " + (
            f"{_NAMES[window.unit]}: {detail}"
        )
        unit = window.unit
    else:
        slot = slots[refused - len(windows)]
        wait = 1.0  # a slot frees when a request ends: there is no schedule to tell
        message = (
            f"Rate limit reached for {slot.scope} {slot.owner} on concurrent requests: "
            f"Limit {slot.limit}, In flight {verdict.slots_in_use[refused - len(windows)]}. "
            "Please try again when a request has finished."
        )
        unit = "requests"
    return RateLimited(message, unit=unit, headers=sent | {"retry-after": retry_after(wait)})
