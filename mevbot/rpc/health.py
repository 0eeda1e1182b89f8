"""Health of one RPC endpoint and the order in which endpoints are tried (pure logic).

An endpoint that fails at the transport level (refused, reset, timed out, not JSON-RPC) goes into
a cool-down: it is skipped while healthy endpoints remain, then tried again when the cool-down
ends; one success clears it. Each consecutive failure doubles the cool-down (capped), so a dead
primary costs one failed attempt per cool-down rather than one per call. A node error (a revert)
is a healthy answer: the node is up and said no.

The score is an exponentially weighted success rate in [0, 1]; with the latency EWMA and the
counters it is what metrics and `mevbot ctl` show. The order is by preference among the endpoints
out of cool-down, then the cooling ones by the end of their cool-down, so a call always has
somewhere to go.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

EWMA_WEIGHT = 0.2
MAX_COOLDOWN_FACTOR = 16


@attrs.frozen
class EndpointStats:
    """A snapshot of one endpoint's counters, for metrics."""

    url: str
    calls: int
    successes: int
    errors: int
    timeouts: int
    rate_limited: int
    score: float
    latency_ewma_s: float | None
    consecutive_failures: int
    cooling_down: bool


@attrs.define
class EndpointHealth:
    url: str
    cooldown_s: float
    calls: int = 0
    successes: int = 0
    errors: int = 0
    timeouts: int = 0
    rate_limited: int = 0
    score: float = 1.0
    latency_ewma_s: float | None = None
    consecutive_failures: int = 0
    cooldown_until: float = float("-inf")

    def is_available(self, now: float) -> bool:
        return now >= self.cooldown_until

    def record_success(self, now: float, latency_s: float) -> None:
        self.calls += 1
        self.successes += 1
        self.score += EWMA_WEIGHT * (1.0 - self.score)
        self.latency_ewma_s = (latency_s if self.latency_ewma_s is None else
                               self.latency_ewma_s + EWMA_WEIGHT * (latency_s - self.latency_ewma_s))
        self.consecutive_failures = 0
        self.cooldown_until = float("-inf")

    def record_failure(self, now: float, *, timeout: bool = False) -> None:
        self.calls += 1
        self.errors += 1
        if timeout:
            self.timeouts += 1
        self.score -= EWMA_WEIGHT * self.score
        self.consecutive_failures += 1
        factor = min(2 ** (self.consecutive_failures - 1), MAX_COOLDOWN_FACTOR)
        self.cooldown_until = now + self.cooldown_s * factor

    def record_rate_limited(self) -> None:
        """Our own bucket or the node's 429: not a fault of the endpoint, so no cool-down."""
        self.rate_limited += 1

    def snapshot(self, now: float) -> EndpointStats:
        return EndpointStats(url=self.url, calls=self.calls, successes=self.successes,
                             errors=self.errors, timeouts=self.timeouts,
                             rate_limited=self.rate_limited, score=self.score,
                             latency_ewma_s=self.latency_ewma_s,
                             consecutive_failures=self.consecutive_failures,
                             cooling_down=not self.is_available(now))


def attempt_order(healths: Sequence[EndpointHealth], now: float) -> list[int]:
    """Indices of ``healths`` in the order a call should try them (see the module docstring)."""
    ready = [i for i, h in enumerate(healths) if h.is_available(now)]
    cooling = sorted((i for i, h in enumerate(healths) if not h.is_available(now)),
                     key=lambda i: (healths[i].cooldown_until, i))
    return ready + cooling
