"""Endpoint health and the order of attempts (pure logic)."""

from __future__ import annotations

from mevbot.rpc.health import EndpointHealth, attempt_order


def test_a_failed_endpoint_cools_down_then_is_tried_again_and_recovers_on_success():
    health = EndpointHealth("http://a", cooldown_s=2.0)
    health.record_failure(10.0)
    assert not health.is_available(11.9)
    assert health.is_available(12.0)
    health.record_success(12.0, latency_s=0.01)
    assert health.is_available(12.0) and health.consecutive_failures == 0


def test_consecutive_failures_double_the_cool_down_up_to_a_cap():
    health = EndpointHealth("http://a", cooldown_s=1.0)
    ends = []
    for _ in range(7):
        health.record_failure(0.0)
        ends.append(health.cooldown_until)
    assert ends == [1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0]


def test_score_falls_with_failures_and_rises_with_successes():
    health = EndpointHealth("http://a", cooldown_s=1.0)
    health.record_failure(0.0, timeout=True)
    low = health.score
    assert low < 1.0
    health.record_success(5.0, 0.02)
    assert low < health.score < 1.0
    snap = health.snapshot(5.0)
    assert (snap.calls, snap.successes, snap.errors, snap.timeouts) == (2, 1, 1, 1)


def test_rate_limits_are_counted_but_do_not_cool_an_endpoint_down():
    health = EndpointHealth("http://a", cooldown_s=1.0)
    health.record_rate_limited()
    assert health.is_available(0.0) and health.rate_limited == 1 and health.errors == 0


def test_order_prefers_healthy_endpoints_then_the_soonest_to_recover():
    a, b, c = (EndpointHealth(u, cooldown_s=5.0) for u in ("a", "b", "c"))
    assert attempt_order([a, b, c], 0.0) == [0, 1, 2]
    a.record_failure(0.0)   # cools until 5
    c.record_failure(-3.0)  # cools until 2
    assert attempt_order([a, b, c], 1.0) == [1, 2, 0]
    assert attempt_order([a, b, c], 2.5) == [1, 2, 0]
    assert attempt_order([a, b, c], 6.0) == [0, 1, 2]
