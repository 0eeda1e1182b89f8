"""The replay's SequentialBus: breadth-first delivery in publish order, one cascade per outer publish."""

from __future__ import annotations

from mevbot.replay.replayer import SequentialBus


async def test_a_cascade_is_delivered_breadth_first_before_the_outer_publish_returns():
    bus = SequentialBus()
    seen: list[tuple[str, object, int]] = []

    async def block(payload, trace):
        seen.append(("block", payload, trace))
        await bus.publish("intent", f"{payload}.a", trace_id=trace)
        await bus.publish("intent", f"{payload}.b", trace_id=trace)
        assert seen[-1] == ("block", payload, trace)  # nested publishes only queue

    async def intent(payload, trace):
        seen.append(("intent", payload, trace))
        await bus.publish("decision", f"{payload}!", trace_id=trace)

    async def decision_first(payload, trace):
        seen.append(("decision-1", payload, trace))

    async def decision_second(payload, trace):
        seen.append(("decision-2", payload, trace))

    bus.route("block", block)
    bus.route("intent", intent)
    bus.route("decision", decision_first)
    bus.route("decision", decision_second)
    await bus.publish("block", "b1", trace_id=7)
    assert seen == [
        ("block", "b1", 7),
        ("intent", "b1.a", 7), ("intent", "b1.b", 7),
        ("decision-1", "b1.a!", 7), ("decision-2", "b1.a!", 7),
        ("decision-1", "b1.b!", 7), ("decision-2", "b1.b!", 7),
    ]
    await bus.publish("block", "b2", trace_id=8)
    assert seen[7] == ("block", "b2", 8) and len(seen) == 14
    assert bus.published == {"block": 2, "intent": 4, "decision": 4}


async def test_a_topic_nobody_handles_is_counted_and_dropped():
    bus = SequentialBus()
    await bus.publish("nobody.listens", object())
    assert bus.published["nobody.listens"] == 1
