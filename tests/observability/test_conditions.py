"""Alert conditions fire once when something goes wrong, not on every check while it stays wrong."""

from __future__ import annotations

from mevbot.observability.conditions import DeadLetterGrowth, EndpointsDown, FeedStall, StopWatch
from mevbot.rpc.health import EndpointHealth


def test_a_feed_that_never_started_is_not_reported_as_stalled():
    assert FeedStall(30).check(1000.0) is None


def test_a_stalled_feed_alerts_once_per_stall_and_again_after_it_resumed_and_stalled():
    feed = FeedStall(30)
    feed.block_arrived(100.0)
    assert feed.check(129.0) is None
    finding = feed.check(131.0)
    assert finding.kind == "feed_stalled" and "31s" in finding.message
    assert feed.check(200.0) is None
    feed.block_arrived(201.0)
    assert feed.check(240.0).kind == "feed_stalled"


def test_an_endpoint_alerts_when_it_goes_down_and_again_only_after_it_came_back():
    a, b = EndpointHealth("http://a", cooldown_s=10), EndpointHealth("http://b", cooldown_s=10)
    watch = EndpointsDown()
    assert watch.check("main", [a.snapshot(0), b.snapshot(0)]) == []
    b.record_failure(0.0)
    [finding] = watch.check("main", [a.snapshot(1), b.snapshot(1)])
    assert finding.fields["endpoint"] == "http://b" and "1 of 2" in finding.message
    assert watch.check("main", [a.snapshot(2), b.snapshot(2)]) == []
    assert watch.check("main", [a.snapshot(20), b.snapshot(20)]) == []  # cooled down: back
    b.record_failure(20.0)
    assert len(watch.check("main", [a.snapshot(21), b.snapshot(21)])) == 1


def test_dead_letters_alert_when_enough_were_added_within_one_check():
    growth = DeadLetterGrowth(100)
    assert growth.check(5000, 10) is None  # first look: a baseline, not growth
    assert growth.check(5099, 10) is None
    finding = growth.check(5250, 160)
    assert finding.kind == "dead_letters_growing" and finding.fields == {"added": 151, "queued": 160}


def test_the_emergency_stop_alerts_when_it_is_set_not_while_it_stays_set():
    stop = StopWatch()
    assert stop.check(False, "") is None
    assert stop.check(True, "operator").message == "emergency stop in force: operator"
    assert stop.check(True, "operator") is None
    assert stop.check(False, "") is None
    assert stop.check(True, "again") is not None
