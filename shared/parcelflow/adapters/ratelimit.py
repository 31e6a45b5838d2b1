"""Client-side rate limits: a token bucket per operation, and backoff with jitter after a throttle answer.

Platforms publish a rate and a burst per operation (Amazon also sends the rate that applies in
`x-amzn-RateLimit-Limit`). Waiting for our own bucket costs nothing; a 429 costs a call and, repeated,
gets an app's limits cut. So a call first waits for its bucket, and a throttle answer empties the bucket
(the platform's one is empty too) and adds a jittered exponential pause so that workers do not retry in
step. Neither ever waits past the caller's deadline: it raises SyncPaused instead, and the caller resumes
from its stored cursor on the next run.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from parcelflow.domain.errors import SyncPaused

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Limit:
    rate_per_s: float
    burst: int


class TokenBucket:
    """`burst` tokens at most, refilled at `rate_per_s`. Thread-safe: one bucket serves a warm Lambda."""

    def __init__(self, limit: Limit, *, clock: Clock = time.monotonic) -> None:
        if limit.rate_per_s <= 0 or limit.burst < 1:
            raise ValueError(f"a rate limit needs a positive rate and burst, got {limit}")
        self._rate = limit.rate_per_s
        self._burst = float(limit.burst)
        self._clock = clock
        self._tokens = self._burst
        self._updated = clock()
        self._lock = threading.Lock()

    @property
    def rate_per_s(self) -> float:
        return self._rate

    def reserve(self) -> float:
        """Take a token; the seconds to wait before using it (0 when one was there).

        Tokens may go below zero: callers queue up behind each other instead of all waking at once.
        """
        with self._lock:
            self._refill()
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    def refund(self) -> None:
        """Give back a reserved token that will not be used (the caller gave up waiting)."""
        with self._lock:
            self._tokens = min(self._burst, self._tokens + 1)

    def empty(self) -> None:
        """The platform said we are over the limit: its bucket is empty, so ours is too."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0)

    def set_rate(self, rate_per_s: float) -> None:
        """The platform told us the rate that applies to this account (it may differ from the default)."""
        if rate_per_s <= 0:
            return
        with self._lock:
            self._refill()
            self._rate = rate_per_s

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now


class Throttle:
    """The buckets of one account's operations, and how long to pause after the platform throttled us."""

    def __init__(
        self,
        limits: Mapping[str, Limit],
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        jitter: Callable[[], float] = random.random,
        base_backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        share: int = 1,
    ) -> None:
        """`share`: how many instances spend the account's limits at once (a function's maximum
        concurrency); each takes that part of every rate and burst, so together they keep to the limit."""
        if share < 1:
            raise ValueError(f"a throttle is shared by at least one instance, got {share}")
        self._share = share
        self._buckets = {
            operation: TokenBucket(_part(limit, share), clock=clock) for operation, limit in limits.items()
        }
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._base = base_backoff_s
        self._cap = max_backoff_s

    def bucket(self, operation: str) -> TokenBucket:
        return self._buckets[operation]

    def before_call(self, operation: str, deadline: float | None = None) -> None:
        """Wait for the operation's token, or raise SyncPaused if that would pass the deadline."""
        bucket = self._buckets[operation]
        wait = bucket.reserve()
        if wait <= 0:
            return
        if deadline is not None and self._clock() + wait > deadline:
            bucket.refund()
            raise SyncPaused(f"{operation}: rate limit of {bucket.rate_per_s:g} calls/s", wait)
        self._sleep(wait)

    def after_throttled(self, operation: str, attempt: int, deadline: float | None = None) -> None:
        """After the `attempt`-th throttle answer in a row (1, 2, ...): pause before the call is tried again.

        Full jitter over an exponential ceiling; the bucket is emptied, so the next before_call also waits
        for a fresh token at the platform's rate.
        """
        bucket = self._buckets[operation]
        bucket.empty()
        ceiling = min(self._cap, self._base * 2 ** min(attempt - 1, 32))
        pause = ceiling * self._jitter()
        refill = 1 / bucket.rate_per_s
        if deadline is not None and self._clock() + pause + refill > deadline:
            raise SyncPaused(f"{operation}: throttled by the platform ({attempt} in a row)", pause + refill)
        self._sleep(pause)

    def observe_limit(self, operation: str, header_value: str | None) -> None:
        """Apply a rate the platform announced (e.g. `x-amzn-RateLimit-Limit: 0.0167`); ignore nonsense."""
        if not header_value:
            return
        try:
            rate = float(header_value.strip())
        except ValueError:
            return
        if rate > 0 and rate != float("inf"):
            self._buckets[operation].set_rate(rate / self._share)


def _part(limit: Limit, share: int) -> Limit:
    return Limit(rate_per_s=limit.rate_per_s / share, burst=max(1, limit.burst // share))


_shared: dict[Hashable, Throttle] = {}
_shared_lock = threading.Lock()


def shared_throttle(key: Hashable, limits: Mapping[str, Limit], share: int = 1) -> Throttle:
    """The throttle of one platform account, shared by every client of it in this process: the warm
    invocations of a Lambda spend one bucket, as the platform counts one. `share`: see Throttle."""
    with _shared_lock:
        throttle = _shared.get((key, share))
        if throttle is None:
            throttle = _shared[(key, share)] = Throttle(limits, share=share)
        return throttle


def clear_shared_throttles() -> None:
    """Forget every account's throttle (for tests; a new process starts empty anyway)."""
    with _shared_lock:
        _shared.clear()
