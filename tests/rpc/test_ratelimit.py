"""The token bucket, as pure logic and as the client waits on it under trio's MockClock."""

from __future__ import annotations

import math

import pytest
import trio
from hypothesis import given, strategies as st

from mevbot.rpc.endpoint import Endpoint
from mevbot.rpc.errors import RateLimited
from mevbot.rpc.health import EndpointHealth
from mevbot.rpc.ratelimit import TokenBucket


def test_full_bucket_admits_the_burst_then_one_token_per_interval():
    bucket = TokenBucket(rate_per_s=10.0, burst=3, now=0.0)
    assert [bucket.try_take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.delay_for(0.0) == pytest.approx(0.1)
    assert not bucket.try_take(0.05)
    assert bucket.try_take(0.1)


def test_reservations_queue_callers_in_arrival_order():
    bucket = TokenBucket(rate_per_s=4.0, burst=1, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]


def test_a_reservation_past_the_deadline_takes_nothing():
    bucket = TokenBucket(rate_per_s=1.0, burst=1, now=0.0)
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0, max_wait_s=0.5) is None
    assert bucket.reserve(0.0, max_wait_s=1.0) == pytest.approx(1.0)


def test_idle_time_refills_no_further_than_the_burst():
    bucket = TokenBucket(rate_per_s=100.0, burst=5, now=0.0)
    for _ in range(5):
        bucket.try_take(0.0)
    assert bucket.available(3600.0) == 5


def test_reconfigure_does_not_grant_a_fresh_burst():
    bucket = TokenBucket(rate_per_s=10.0, burst=10, now=0.0)
    for _ in range(10):
        bucket.try_take(0.0)
    bucket.reconfigure(0.0, rate_per_s=1.0, burst=50)
    assert not bucket.try_take(0.0)
    assert bucket.delay_for(0.0) == pytest.approx(1.0)


@pytest.mark.parametrize("rate, burst", [(0.0, 1), (-1.0, 1), (math.inf, 1), (1.0, 0)])
def test_nonsense_rate_or_burst_is_refused_with_a_message(rate, burst):
    with pytest.raises(ValueError, match="token bucket"):
        TokenBucket(rate, burst, 0.0)


@given(rate=st.floats(0.5, 1000.0), burst=st.integers(1, 100),
       arrivals=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=300))
def test_admissions_in_any_window_never_exceed_burst_plus_rate_times_length(rate, burst, arrivals):
    bucket = TokenBucket(rate, burst, 0.0)
    admitted = [t for t in sorted(arrivals) if bucket.try_take(t)]
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            assert j - i + 1 <= burst + rate * (admitted[j] - start) + 1e-6


async def test_a_burst_is_admitted_at_burst_plus_rate_times_t(autojump_clock):
    rate, burst, requests = 10.0, 5, 25
    endpoint = Endpoint("http://node", None, TokenBucket(rate, burst, trio.current_time()),
                        EndpointHealth("http://node", 1.0))
    start = trio.current_time()
    admitted_at: list[float] = []

    async def request() -> None:
        await endpoint.acquire_token()
        admitted_at.append(trio.current_time() - start)

    async with trio.open_nursery() as nursery:
        for _ in range(requests):
            nursery.start_soon(request)
    assert len(admitted_at) == requests
    for tenths in range(0, 30):
        t = tenths / 10
        admitted = sum(1 for a in admitted_at if a <= t + 1e-9)
        assert admitted == min(requests, burst + math.floor(rate * t + 1e-9)), t


async def test_waiting_past_the_deadline_raises_rate_limited_at_once(autojump_clock):
    endpoint = Endpoint("http://node", None, TokenBucket(2.0, 1, trio.current_time()),
                        EndpointHealth("http://node", 1.0))
    await endpoint.acquire_token(max_wait_s=0.0)
    before = trio.current_time()
    with pytest.raises(RateLimited) as caught:
        await endpoint.acquire_token(max_wait_s=0.1)
    assert trio.current_time() == before
    assert caught.value.retry_after_s == pytest.approx(0.5)
    assert "http://node" in str(caught.value)
    assert endpoint.health.rate_limited == 1


async def test_a_cancelled_wait_gives_its_token_back(autojump_clock):
    endpoint = Endpoint("http://node", None, TokenBucket(1.0, 1, trio.current_time()),
                        EndpointHealth("http://node", 1.0))
    await endpoint.acquire_token()
    with trio.move_on_after(0.1):
        await endpoint.acquire_token()
    # Without the refund the next slot would be 2 s out; with it, 1 s from the start.
    assert endpoint.bucket.delay_for(trio.current_time()) == pytest.approx(0.9)
