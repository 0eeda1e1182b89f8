"""One HTTP endpoint as the client holds it: its connection pool, token bucket and health.

The bucket and the health record are pure; this is where they meet trio's clock, so the waiting
for a token can be tested alone under ``trio.testing.MockClock``.
"""

from __future__ import annotations

import math

import httpx
import trio

from mevbot.rpc.errors import RateLimited
from mevbot.rpc.health import EndpointHealth
from mevbot.rpc.ratelimit import TokenBucket


class Endpoint:
    def __init__(self, url: str, http: httpx.AsyncClient | None, bucket: TokenBucket,
                 health: EndpointHealth) -> None:
        self.url = url
        self.http = http
        self.bucket = bucket
        self.health = health

    async def acquire_token(self, max_wait_s: float = math.inf) -> None:
        """Wait for this endpoint's next request slot, or raise :class:`RateLimited` at once if
        it is more than ``max_wait_s`` away. A cancelled wait gives its slot back."""
        now = trio.current_time()
        delay = self.bucket.reserve(now, 1.0, max_wait_s)
        if delay is None:
            self.health.record_rate_limited()
            raise RateLimited(self.url, "local token bucket empty",
                              retry_after_s=self.bucket.delay_for(now))
        if delay > 0:
            try:
                await trio.sleep(delay)
            except BaseException:
                self.bucket.refund(trio.current_time())
                raise
