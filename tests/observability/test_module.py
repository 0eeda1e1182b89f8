"""The observability module on a real bus: /metrics over HTTP, stage latencies from traces,
execution counts, and alerts (breaker trip, emergency stop, dead letters, stalled feed) POSTed
to a real local webhook."""

from __future__ import annotations

import json
import logging

import attrs
import httpx
import trio

from mevbot.bus.bus import Bus
from mevbot.observability import metrics
from mevbot.observability.module import ObservabilityModule
from mevbot.observability.settings import ObservabilitySettings
from mevbot.risk.breakers import BreakerTrip
from mevbot.risk.settings import RiskSettings
from mevbot.runtime.module import ModuleContext
from tests.observability.test_alerts import Clock, WebhookServer
from tests.store import messages as m


@attrs.frozen
class _FullConfig:
    risk: RiskSettings


def _value(name: str, **labels) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def _bus() -> Bus:
    registry = m.message_registry()
    registry.register(BreakerTrip, "risk.breaker")
    return Bus(registry=registry, process="obs-test")


async def _until(condition, timeout_s: float = 10.0) -> None:
    with trio.fail_after(timeout_s):
        while not condition():
            await trio.sleep(0.005)


async def test_metrics_are_served_and_stages_are_timed_along_a_trace():
    bus = _bus()
    module = ObservabilityModule(metrics_port=0)
    ctx = ModuleContext(config=ObservabilitySettings(), log=logging.getLogger("obs"), bus=bus)
    decoded = _value("mevbot_stage_latency_seconds_count", stage="decoded")
    receipts = _value("mevbot_stage_latency_seconds_count", stage="receipt")
    succeeded = _value("mevbot_executions_total", status="succeeded")
    opportunities = _value("mevbot_opportunities_total")
    async with trio.open_nursery() as nursery:
        await nursery.start(module.run, ctx)
        # Published back to back: the intent's subscription may well be read before the
        # block's; the sample waits for its block.
        feed = await bus.publish("feed.block", m.feed_block(), source="monitor")
        await bus.publish("market.swap.intent", m.swap_intent(), source="parser", trace_id=feed.trace_id)
        await bus.publish("arb.opportunity", m.opportunity(), source="scanner", trace_id=feed.trace_id)
        await bus.publish("exec.result", m.exec_result(), source="execution", trace_id=feed.trace_id)
        await bus.publish("market.swap.intent", m.swap_intent(), source="parser")  # a trace never seen
        await _until(lambda: _value("mevbot_executions_total", status="succeeded") == succeeded + 1)
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{module.metrics_port}/metrics")).text
        nursery.cancel_scope.cancel()
    assert _value("mevbot_stage_latency_seconds_count", stage="decoded") == decoded + 1
    assert _value("mevbot_stage_latency_seconds_count", stage="receipt") == receipts + 1
    assert _value("mevbot_opportunities_total") == opportunities + 1
    assert _value("mevbot_feed_lag_seconds") > 0  # the sample block is stamped in the past
    assert 'mevbot_bus_queue_depth{process="obs-test"' in text and "mevbot_executions_total" in text


async def test_breaker_trips_emergency_stop_dead_letters_and_a_stalled_feed_reach_the_webhook(tmp_path):
    bus = _bus()
    clock = Clock()
    server = WebhookServer()
    module = ObservabilityModule(metrics_port=0, clock=clock)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.run)
        settings = ObservabilitySettings(alert_webhook=f"http://127.0.0.1:{port}/hook", check_interval_s=3600,
                                         feed_stall_s=30, dead_letter_alert=3)
        ctx = ModuleContext(config=settings, log=logging.getLogger("obs"), bus=bus,
                            full_config=_FullConfig(RiskSettings(state_path=str(tmp_path / "risk.json"))))
        await nursery.start(module.run, ctx)

        await bus.publish("risk.breaker", BreakerTrip("3 consecutive failures", 1.0, None), source="risk")
        await _until(lambda: len(server.bodies) == 1)

        await bus.publish("feed.block", m.feed_block(), source="monitor")
        await _until(lambda: module.feed.last_block_at is not None)
        await module.check(ctx)  # baseline: nothing wrong yet
        (tmp_path / "risk.json").write_text(json.dumps({"active": True, "reason": "operator", "since": 1.0}))
        for _ in range(4):
            bus.dlq.add("undeliverable: test")
        clock.now += 31
        await module.check(ctx)
        await _until(lambda: len(server.bodies) == 4)
        await module.check(ctx)  # the same conditions again: no new alerts
        nursery.cancel_scope.cancel()
    kinds = [b["kind"] for b in server.bodies]
    assert kinds[0] == "breaker_trip" and "3 consecutive failures" in server.bodies[0]["message"]
    assert sorted(kinds[1:]) == ["dead_letters_growing", "emergency_stop", "feed_stalled"]
    assert len(server.bodies) == 4
