"""One public request as the pipeline carries it, from admission to its end.

An `Exchange` is made by the HTTP layer with what only HTTP knows (the bearer token, how to read
the body, how to learn that the client left) and filled in by the stages: who is calling, the
body, what each stage took and must give back, and the usage the upstream reported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Literal

from pydantic import BaseModel

from twelve.kernel.errors import TwelveError
from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.endpoints import Endpoint
from twelve.modules.models.api import DeploymentRef, JSONObject

# How a request ended. `refused`: an admission stage said no (bad key, bad body, unknown model);
# `upstream_error`: no deployment answered; `client_gone`: the client left before the end;
# `stream_failed`: a stream broke after its first byte (an error event, a cut upstream).
Outcome = Literal["ok", "refused", "upstream_error", "client_gone", "stream_failed", "error"]

# What a stage that took something at admission (a hold, a slot) is given back at the end.
Settle = Callable[["Exchange"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """An answer the prompt cache found: a fresh copy, as `answer` or as the stream's `chunks`.
    `deployment` served it first; a hit costs `cost_fraction` of what its usage would."""

    deployment: DeploymentRef
    answer: JSONObject | None
    chunks: list[JSONObject] | None
    cost_fraction: float


class Recording:
    """What a request's answer was (the object, or a stream's chunks), kept for the prompt cache
    up to `limit` items: past that it is dropped (`overflowed`), never grown."""

    __slots__ = ("items", "limit", "overflowed")

    def __init__(self, limit: int) -> None:
        self.items: list[JSONObject] = []
        self.limit = limit
        self.overflowed = False

    def add(self, item: JSONObject) -> None:
        if self.overflowed:
            return
        if len(self.items) >= self.limit:
            self.overflowed = True
            self.items.clear()
            return
        self.items.append(item)


class ClientGone(TwelveError):
    """The client hung up before its answer was complete (nginx's 499; nobody reads it)."""

    status = 499
    type = "client_closed_request"
    kind = "client_gone"


@dataclass(eq=False, slots=True)
class Exchange:
    endpoint: Endpoint
    token: str
    read_body: Callable[[type[BaseModel]], Awaitable[JSONObject]]
    # Returns when the client has gone; None where nobody can tell (in-process calls).
    client_gone: Callable[[], Awaitable[object]] | None = None
    principal: Principal | None = None
    body: JSONObject = field(default_factory=dict)
    settles: list[Settle] = field(default_factory=list)
    # The deployment called last (whose usage, and so whose prices, the request is billed at).
    deployment: DeploymentRef | None = None
    # Set once a deployment was called: from then on the upstream may bill, so usage matters.
    dispatched: bool = False
    # The usage the upstream reported; None while (or if) it is unknown.
    usage: JSONObject | None = None
    # Set by a stream's relay when it ended on its own (`ok`) or with an error event.
    stream_end: Outcome | None = None
    outcome: Outcome | None = None
    # Headers a stage adds to the answer (e.g. `x-ratelimit-*`), success or stream alike.
    response_headers: dict[str, str] = field(default_factory=dict)
    # What the credit hold charged at the end (None: nothing charged, e.g. a free model), and
    # whether the plan had no price at all (its tokens billed at 0): read by the usage meter,
    # whose settle runs after the credit hold's.
    charged_micros: int | None = None
    unpriced: bool = False
    # A job's attempt: the job holds the credits (taken at submission, settled at its end), so
    # the credit stage only works out what this attempt cost (`charged_micros`, or
    # `cost_unknown` when it was dispatched and no usage came back).
    prepaid: bool = False
    cost_unknown: bool = False
    # The most this request may be held for (a workflow run's budget left, in micro-dollars):
    # a worst case above it is refused before any upstream is called. None: no cap.
    cost_cap_micros: int | None = None
    # The prompt cache: the answer it found (routing is skipped), or, on a miss, where the answer
    # is recorded so that the cache can keep it once the request ended well.
    cached: CachedAnswer | None = None
    recording: Recording | None = None
    # The finaliser's task giving back what the stages took (None when they took nothing).
    settling: asyncio.Task[None] | None = None
    # For the request metrics (`metering.py`): when it arrived (`perf_counter`), the time its
    # upstream calls took (to the first chunk for a stream), and whether the gateway's overhead
    # was measured already (a stream's is, when it opens).
    started: float = field(default_factory=perf_counter)
    upstream_seconds: float = 0.0
    overhead_measured: bool = False

    @property
    def model(self) -> str:
        model = self.body.get("model")
        return model if isinstance(model, str) else ""
