"""Rate limits shared by every gateway process through Redis (`TWELVE_REDIS_URL`).

The connection is `limits`' async Redis storage (redis-py), and the windows are its sliding window
counters, in its own keys (`<prefix>:{key}` for the current minute, `<prefix>:{key}/-1` for the
previous one), so `limits`' own readers see the same counts. What `limits` does one limit per
call, a request's limits are here in one Lua script: every window checked and the same sliding
window arithmetic applied, the slot sets pruned and counted, and only then everything taken, or
nothing. So admission is one round trip however many limits apply, and two processes never
admit more than the limit between them. Settling (the TPM correction, the slots given back) is
one more round trip, only for requests that took tokens or slots.

Concurrency slots are a sorted set per key or customer: each member a request, scored by when its
lease ends (`slot_seconds`). A slot is given back by its request's settle; the slots of a process
that died are pruned when their lease ends, on the next take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from limits.aio.storage import RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge

from twelve.modules.gateway.stages.limit_store import (
    WINDOW_SECONDS,
    Slots,
    Verdict,
    Window,
    WindowState,
)

# KEYS: each window's previous and current counter, then each slot set.
# ARGV: windows, slot sets, member, lease (ms); each window's limit and cost; each set's limit.
# Returns the first refusing limit (1-based; 0: admitted), each window's counters before this
# request (previous count, its ttl in ms, current count, its ttl in ms), each set's size.
_ACQUIRE = """
local n, m = tonumber(ARGV[1]), tonumber(ARGV[2])
local member, lease = ARGV[3], tonumber(ARGV[4])
local expiry = @EXPIRY_MS@
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local refused = 0
local out = {0}
for i = 1, n do
  local previous, current = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, cost = tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
  local current_ttl = tonumber(redis.call('pttl', current))
  if current_ttl > 0 and current_ttl < expiry then
    -- the current minute is over: it becomes the previous one (as in limits' own script)
    redis.call('rename', current, previous)
    redis.call('set', current, 0, 'PX', current_ttl + expiry)
  end
  local previous_count = tonumber(redis.call('get', previous)) or 0
  local previous_ttl = math.max(tonumber(redis.call('pttl', previous)), 0)
  local current_count = tonumber(redis.call('get', current)) or 0
  current_ttl = math.max(tonumber(redis.call('pttl', current)), 0)
  local used = math.floor(previous_count * previous_ttl / expiry) + current_count
  if refused == 0 and used + cost > limit then refused = i end
  table.insert(out, previous_count)
  table.insert(out, previous_ttl)
  table.insert(out, current_count)
  table.insert(out, current_ttl)
end
for j = 1, m do
  local set = KEYS[2 * n + j]
  redis.call('zremrangebyscore', set, '-inf', now)
  local in_use = redis.call('zcard', set)
  if refused == 0 and in_use >= tonumber(ARGV[4 + 2 * n + j]) then refused = n + j end
  table.insert(out, in_use)
end
out[1] = refused
if refused == 0 then
  for i = 1, n do
    local current, cost = KEYS[2 * i], tonumber(ARGV[4 + 2 * i])
    if redis.call('exists', current) == 1 then
      redis.call('incrby', current, cost)
    else
      redis.call('set', current, cost, 'PX', expiry * 2)
    end
  end
  for j = 1, m do
    local set = KEYS[2 * n + j]
    redis.call('zadd', set, now + lease, member)
    redis.call('pexpire', set, lease)
  end
end
return out
"""

# KEYS: each corrected window's previous and current counter, then each slot set.
# ARGV: windows, member, then each window's correction (negative: given back).
_RELEASE = """
local n, member = tonumber(ARGV[1]), ARGV[2]
for i = 1, n do
  local previous, current = KEYS[2 * i - 1], KEYS[2 * i]
  local delta = tonumber(ARGV[2 + i])
  if delta > 0 then
    if redis.call('exists', current) == 1 then
      redis.call('incrby', current, delta)
    else
      redis.call('set', current, delta, 'PX', @EXPIRY_MS@ * 2)
    end
  else
    -- given back from the current minute first, then the previous one; never below zero
    for _, key in ipairs({current, previous}) do
      if delta < 0 then
        local have = tonumber(redis.call('get', key)) or 0
        local taken = math.min(have, -delta)
        if taken > 0 then
          redis.call('decrby', key, taken)
          delta = delta + taken
        end
      end
    end
  end
end
for j = 2 * n + 1, #KEYS do
  redis.call('zrem', KEYS[j], member)
end
return 0
"""


class RedisLimitStore:
    def __init__(self, url: str, *, prefix: str = "twelve:ratelimit", slot_seconds: float) -> None:
        self.storage = RedisStorage(f"async+{url}", implementation="redispy", key_prefix=prefix)
        # The redis-py bridge: its client, and the key prefix `limits` writes with.
        self._bridge = cast(RedispyBridge, self.storage.bridge)
        # redis-py's own client (the bridge types it as a protocol narrower than redis-py's).
        self._client = cast(Any, self._bridge.get_connection())
        connection = self._client
        expiry_ms = str(WINDOW_SECONDS * 1000)
        self._acquire = connection.register_script(_ACQUIRE.replace("@EXPIRY_MS@", expiry_ms))
        self._release = connection.register_script(_RELEASE.replace("@EXPIRY_MS@", expiry_ms))
        self._lease_ms = int(slot_seconds * 1000)

    def _window_keys(self, window: Window) -> list[str]:
        current = "{" + window.key + "}"  # limits' layout: both keys in one hash slot
        return [self._bridge.prefixed_key(current + "/-1"), self._bridge.prefixed_key(current)]

    async def acquire(
        self, windows: Sequence[Window], slots: Sequence[Slots], member: str
    ) -> Verdict:
        keys = [k for w in windows for k in self._window_keys(w)]
        keys += [self._bridge.prefixed_key(s.key) for s in slots]
        args: list[Any] = [len(windows), len(slots), member, self._lease_ms]
        args += [n for w in windows for n in (w.limit, w.cost)]
        args += [s.limit for s in slots]
        out = [int(n) for n in await self._acquire(keys=keys, args=args)]
        states = tuple(
            WindowState(out[i], out[i + 1] / 1000, out[i + 2], out[i + 3] / 1000)
            for i in range(1, 1 + 4 * len(windows), 4)
        )
        in_use = tuple(out[1 + 4 * len(windows) :])
        return Verdict(states, in_use, out[0] - 1 if out[0] else None)

    async def release(
        self, corrections: Sequence[tuple[Window, int]], slots: Sequence[Slots], member: str
    ) -> None:
        keys = [k for w, _ in corrections for k in self._window_keys(w)]
        keys += [self._bridge.prefixed_key(s.key) for s in slots]
        args: list[Any] = [len(corrections), member, *(delta for _, delta in corrections)]
        await self._release(keys=keys, args=args)

    async def close(self) -> None:
        await self._client.aclose()
