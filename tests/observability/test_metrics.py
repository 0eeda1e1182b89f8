"""Metric functions and the scrape-time collector over real bus and RPC stats objects."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from mevbot.bus.bus import Bus
from mevbot.bus.registry import MessageRegistry
from mevbot.observability import metrics
from mevbot.observability.errors import UnknownStageError
from mevbot.risk.rules import RiskDecision
from mevbot.rpc.health import EndpointHealth

REG = metrics.REGISTRY


def _value(name: str, **labels) -> float:
    return REG.get_sample_value(name, labels) or 0.0


@pytest.fixture(autouse=True)
def _unwatch():
    yield
    metrics.unwatch_all()


def test_observe_stage_lands_in_that_stages_histogram_bucket():
    before = _value("mevbot_stage_latency_seconds_bucket", stage="risk", le="0.001")
    count = _value("mevbot_stage_latency_seconds_count", stage="risk")
    metrics.observe_stage("risk", 0.0007)
    metrics.observe_stage("risk", 0.2)
    assert _value("mevbot_stage_latency_seconds_bucket", stage="risk", le="0.001") == before + 1
    assert _value("mevbot_stage_latency_seconds_count", stage="risk") == count + 2


def test_every_stage_is_exposed_before_its_first_observation():
    text = generate_latest(REG).decode()
    for stage in metrics.STAGES:
        assert f'mevbot_stage_latency_seconds_count{{stage="{stage}"}}' in text


def test_an_unknown_stage_is_a_typed_error_naming_the_stages():
    with pytest.raises(UnknownStageError, match="'parsed'.*feed_received"):
        metrics.observe_stage("parsed", 0.1)


def test_executions_count_by_status_and_add_realised_pnl_net_of_gas():
    pnl = _value("mevbot_realised_pnl_wei")
    ok = _value("mevbot_executions_total", status="succeeded")
    metrics.count_execution("succeeded", realised_profit_wei=5_000, gas_cost_wei=1_000)
    metrics.count_execution("reverted", gas_cost_wei=500)
    assert _value("mevbot_executions_total", status="succeeded") == ok + 1
    assert _value("mevbot_realised_pnl_wei") == pnl + 3_500


async def test_a_watched_bus_exposes_throughput_queue_depth_per_topic_and_dead_letters():
    registry = MessageRegistry()
    registry.register(RiskDecision, "risk.decision")
    bus = Bus(registry=registry, process="proc-a")
    sub = bus.subscribe("risk.decision", name="risk-reader", queue_size=3, overflow="dead-letter")
    metrics.watch_bus(bus)
    for _ in range(5):
        await bus.publish("risk.decision", RiskDecision("c", True, None, "", 1, 0, 0.0))
    labels = {"process": "proc-a", "topic": "risk.decision", "subscriber": "risk-reader"}
    assert _value("mevbot_bus_published_total", process="proc-a") == 5
    assert _value("mevbot_bus_queue_depth", **labels) == 3
    assert _value("mevbot_bus_dead_letters_total", process="proc-a") == 2
    await sub.receive_batch()
    assert _value("mevbot_bus_queue_depth", **labels) == 0
    assert _value("mevbot_bus_delivered_total", **labels) == 3


class _Endpoints:
    """Holds real EndpointHealth records; RpcClient.stats() returns exactly these snapshots."""

    def __init__(self, *health: EndpointHealth) -> None:
        self.health = health

    def stats(self):
        return [h.snapshot(0.0) for h in self.health]


def test_a_watched_rpc_client_exposes_calls_errors_and_which_endpoint_is_down():
    good, bad = EndpointHealth("http://a", cooldown_s=1.0), EndpointHealth("http://b", cooldown_s=1.0)
    good.record_success(0.0, 0.02)
    bad.record_failure(0.0, timeout=True)
    metrics.watch_rpc(_Endpoints(good, bad), name="main")
    assert _value("mevbot_rpc_calls_total", client="main", endpoint="http://a") == 1
    assert _value("mevbot_rpc_errors_total", client="main", endpoint="http://b") == 1
    assert _value("mevbot_rpc_timeouts_total", client="main", endpoint="http://b") == 1
    assert _value("mevbot_rpc_endpoint_up", client="main", endpoint="http://a") == 1
    assert _value("mevbot_rpc_endpoint_up", client="main", endpoint="http://b") == 0


def test_snapshot_samples_keep_sums_and_counts_but_not_buckets():
    metrics.observe_stage("sent", 0.01)
    samples = metrics.snapshot_samples()
    names = {name for name, _, _ in samples}
    assert "mevbot_stage_latency_seconds_count" in names
    assert not any(name.endswith("_bucket") for name in names)


def test_a_stage_is_timed_from_the_feed_block_that_started_its_trace():
    count = _value("mevbot_stage_latency_seconds_count", stage="signed")
    total = _value("mevbot_stage_latency_seconds_sum", stage="signed")
    metrics.note_trace_start(0xABC, 1_000_000_000)
    assert metrics.observe_trace_stage("signed", 0xABC, at_ns=1_250_000_000)
    assert not metrics.observe_trace_stage("signed", 0xDEF)  # a trace this process never saw
    assert _value("mevbot_stage_latency_seconds_count", stage="signed") == count + 1
    assert _value("mevbot_stage_latency_seconds_sum", stage="signed") == pytest.approx(total + 0.25)
