"""A token bucket: at most ``burst`` requests at once, refilled at ``rate_per_s`` (pure logic).

The bucket never reads a clock: every method takes ``now`` (seconds, any monotonic origin), so
the client drives it with ``trio.current_time()`` and tests drive it with a ``MockClock`` or
plain numbers.

Admission is by reservation. :meth:`TokenBucket.reserve` takes a token at once and returns how
long the caller must wait before using it; tokens may go negative, which queues concurrent
callers in arrival order, each with its own precise wake-up time, instead of having them all
wake and race whenever a token appears. A caller that gives up (cancelled, or its wait would pass
its deadline) hands the token back with :meth:`TokenBucket.refund`. Over any window of length
``t`` starting from a full bucket, the number of admitted requests is therefore at most
``burst + rate_per_s * t``.
"""

from __future__ import annotations

import math


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: int, now: float) -> None:
        if not (rate_per_s > 0 and math.isfinite(rate_per_s)):
            raise ValueError(f"token bucket rate_per_s must be a positive finite number, "
                             f"got {rate_per_s!r}")
        if burst < 1:
            raise ValueError(f"token bucket burst must be at least 1, got {burst!r}")
        self.rate_per_s = float(rate_per_s)
        self.burst = int(burst)
        self._tokens = float(burst)
        self._updated_at = now

    def _refill(self, now: float) -> None:
        if now > self._updated_at:
            self._tokens = min(float(self.burst),
                               self._tokens + (now - self._updated_at) * self.rate_per_s)
            self._updated_at = now

    def available(self, now: float) -> float:
        """Tokens usable right now (negative while callers are queued on reservations)."""
        self._refill(now)
        return self._tokens

    def delay_for(self, now: float, tokens: float = 1.0) -> float:
        """Seconds from ``now`` until ``tokens`` more could be taken, without taking them."""
        self._refill(now)
        missing = tokens - self._tokens
        return 0.0 if missing <= 0 else missing / self.rate_per_s

    def reserve(self, now: float, tokens: float = 1.0, max_wait_s: float = math.inf) -> float | None:
        """Take ``tokens`` and return the wait before they may be used, or ``None`` if that
        wait would exceed ``max_wait_s`` (nothing taken then)."""
        delay = self.delay_for(now, tokens)
        if delay > max_wait_s:
            return None
        self._tokens -= tokens
        return delay

    def try_take(self, now: float, tokens: float = 1.0) -> bool:
        """Take ``tokens`` only if they are available right now."""
        return self.reserve(now, tokens, max_wait_s=0.0) is not None

    def refund(self, now: float, tokens: float = 1.0) -> None:
        """Give back a reservation that will not be used."""
        self._refill(now)
        self._tokens = min(float(self.burst), self._tokens + tokens)

    def reconfigure(self, now: float, rate_per_s: float, burst: int) -> None:
        """Apply a reloaded rate/burst without granting a fresh burst."""
        self._refill(now)
        replacement = TokenBucket(rate_per_s, burst, now)
        self.rate_per_s = replacement.rate_per_s
        self.burst = replacement.burst
        self._tokens = min(self._tokens, float(self.burst))
