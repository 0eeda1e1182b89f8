"""Every Prometheus metric of the bot, and the small functions other modules call to feed them.

Hot-path modules call plain functions (:func:`observe_stage`, :func:`count_opportunity`,
:func:`count_execution`, ...) that touch a prometheus-client object and nothing else. Counters
that other objects already keep (the bus's subscriptions and dead letters, the RPC endpoints'
health, the store writer) are not duplicated: :func:`watch_bus`, :func:`watch_rpc` and
:func:`watch_store` register the object, and :class:`StatsCollector` reads it on each scrape.

All metrics live in :data:`REGISTRY` (not prometheus-client's global one) so a process serves
only mevbot's metrics and tests can read them exactly.
"""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from mevbot.observability.errors import UnknownStageError

REGISTRY = CollectorRegistry(auto_describe=True)

#: Pipeline stages, in order; latency of each is measured from the feed message's arrival.
STAGES = ("feed_received", "decoded", "opportunity", "risk", "signed", "sent", "receipt")

# Sub-millisecond decode up to multi-second receipts.
_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

STAGE_LATENCY = Histogram("mevbot_stage_latency_seconds",
                          "Latency from feed arrival to the end of each pipeline stage.",
                          ["stage"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
FEED_LAG = Gauge("mevbot_feed_lag_seconds",
                 "How far the newest feed message's timestamp is behind our clock.", registry=REGISTRY)
OPPORTUNITIES = Counter("mevbot_opportunities", "Arbitrage opportunities found.", registry=REGISTRY)
EXECUTIONS = Counter("mevbot_executions", "Execution outcomes by status.", ["status"], registry=REGISTRY)
REALISED_PNL = Gauge("mevbot_realised_pnl_wei", "Realised profit minus gas since start, in wei.",
                     registry=REGISTRY)
ALERTS = Counter("mevbot_alerts", "Alerts raised, by kind.", ["kind"], registry=REGISTRY)
ALERTS_SUPPRESSED = Counter("mevbot_alerts_suppressed", "Alerts held back by the per-kind rate limit.",
                            ["kind"], registry=REGISTRY)
RPC_CALLS = Counter("mevbot_rpc_requests", "RPC calls counted by callers outside the RPC client "
                    "(the client's own counters are mevbot_rpc_calls_total).", ["endpoint", "outcome"],
                    registry=REGISTRY)

for _stage in STAGES:
    STAGE_LATENCY.labels(_stage)  # every stage appears in the exposition from the start


def observe_stage(stage: str, seconds: float) -> None:
    """Record that ``stage`` finished ``seconds`` after the feed message arrived."""
    if stage not in STAGES:
        raise UnknownStageError(f"unknown pipeline stage {stage!r}; expected one of {', '.join(STAGES)}")
    STAGE_LATENCY.labels(stage).observe(seconds)


def observe_stage_since(stage: str, started_ns: int) -> None:
    """Like :func:`observe_stage`, from a ``time.time_ns()`` start (an envelope's ``created_ns``)."""
    observe_stage(stage, (time.time_ns() - started_ns) / 1e9)


TRACES_KEPT = 50_000  # feed blocks remembered for stage latencies (minutes of mainnet traffic)
_trace_started_ns: collections.OrderedDict[int, int] = collections.OrderedDict()


def note_trace_start(trace_id: int, created_ns: int) -> None:
    """Remember when the feed block that starts trace ``trace_id`` was published."""
    _trace_started_ns[trace_id] = created_ns
    if len(_trace_started_ns) > TRACES_KEPT:
        _trace_started_ns.popitem(last=False)


def observe_trace_stage(stage: str, trace_id: int, at_ns: int | None = None) -> bool:
    """Observe ``stage`` for the trace's feed block, ending at ``at_ns`` (default now).

    The execution engine calls this for ``signed`` and ``sent`` with its request's trace id.
    False when the trace's start is unknown (another process, or long forgotten).
    """
    started = _trace_started_ns.get(trace_id)
    if started is None:
        return False
    end = time.time_ns() if at_ns is None else at_ns
    observe_stage(stage, max(0, end - started) / 1e9)
    return True


def set_feed_lag(seconds: float) -> None:
    FEED_LAG.set(seconds)


def count_opportunity(n: int = 1) -> None:
    OPPORTUNITIES.inc(n)


def count_execution(status: str, *, realised_profit_wei: int = 0, gas_cost_wei: int = 0) -> None:
    """Count one execution outcome and add its realised profit net of gas to the PnL."""
    EXECUTIONS.labels(status).inc()
    if realised_profit_wei or gas_cost_wei:
        REALISED_PNL.inc(realised_profit_wei - gas_cost_wei)


def count_rpc_call(endpoint: str, *, error: bool = False) -> None:
    RPC_CALLS.labels(endpoint, "error" if error else "ok").inc()


def count_alert(kind: str, *, suppressed: bool = False) -> None:
    (ALERTS_SUPPRESSED if suppressed else ALERTS).labels(kind).inc()


# ---- stats objects read on scrape ------------------------------------------------------------

class StatsCollector(Collector):
    """Turns the stats of the watched bus, RPC clients and store into metrics at scrape time."""

    def __init__(self) -> None:
        self.buses: dict[str, Any] = {}
        self.rpcs: dict[str, Any] = {}
        self.stores: dict[str, Callable[[], dict]] = {}

    def describe(self) -> list:
        return []  # families vary with what is watched; described on collect

    def collect(self) -> Iterator[Any]:
        yield from self._bus_metrics()
        yield from self._rpc_metrics()
        yield from self._store_metrics()

    def _bus_metrics(self) -> Iterator[Any]:
        published = CounterMetricFamily("mevbot_bus_published", "Messages published.", labels=["process"])
        unrouted = CounterMetricFamily("mevbot_bus_unrouted", "Messages nobody subscribed to.", labels=["process"])
        delivered = CounterMetricFamily("mevbot_bus_delivered", "Messages taken by subscribers, per topic pattern.",
                                        labels=["process", "topic", "subscriber"])
        depth = GaugeMetricFamily("mevbot_bus_queue_depth", "Messages waiting in a subscription, per topic pattern.",
                                  labels=["process", "topic", "subscriber"])
        dropped = CounterMetricFamily("mevbot_bus_dropped", "Messages dropped by a full drop-oldest subscription.",
                                      labels=["process", "topic", "subscriber"])
        dead = CounterMetricFamily("mevbot_bus_dead_letters", "Dead letters ever added.", labels=["process"])
        dead_queued = GaugeMetricFamily("mevbot_bus_dead_letters_queued", "Dead letters waiting in the queue.",
                                        labels=["process"])
        link_queued = GaugeMetricFamily("mevbot_bus_link_queued", "Messages queued for a peer process.",
                                        labels=["process", "peer", "lane"])
        link_sent = CounterMetricFamily("mevbot_bus_link_sent", "Messages sent to a peer process.",
                                        labels=["process", "peer", "lane"])
        for process, bus in self.buses.items():
            stats = bus.stats()
            published.add_metric([process], stats["published"])
            unrouted.add_metric([process], stats["unrouted"])
            dead.add_metric([process], stats["dlq"]["total"])
            dead_queued.add_metric([process], stats["dlq"]["queued"])
            for route in bus.routes():
                for sub in route.get("subscriptions", ()):
                    labels = [process, sub["pattern"], sub["name"]]
                    delivered.add_metric(labels, sub["delivered"])
                    depth.add_metric(labels, sub["depth"])
                    dropped.add_metric(labels, sub["dropped"])
                for lane, lane_stats in route.get("lanes", {}).items():
                    labels = [process, route["peer"], lane]
                    link_queued.add_metric(labels, lane_stats["queued"])
                    link_sent.add_metric(labels, lane_stats["sent"])
        yield from (published, unrouted, delivered, depth, dropped, dead, dead_queued, link_queued, link_sent)

    def _rpc_metrics(self) -> Iterator[Any]:
        calls = CounterMetricFamily("mevbot_rpc_calls", "RPC calls per endpoint.", labels=["client", "endpoint"])
        errors = CounterMetricFamily("mevbot_rpc_errors", "RPC transport errors per endpoint.",
                                     labels=["client", "endpoint"])
        timeouts = CounterMetricFamily("mevbot_rpc_timeouts", "RPC timeouts per endpoint.", labels=["client", "endpoint"])
        limited = CounterMetricFamily("mevbot_rpc_rate_limited", "Calls held back by rate limits.",
                                      labels=["client", "endpoint"])
        score = GaugeMetricFamily("mevbot_rpc_endpoint_score", "Weighted success rate in [0, 1].",
                                  labels=["client", "endpoint"])
        up = GaugeMetricFamily("mevbot_rpc_endpoint_up", "1 unless the endpoint is cooling down after failures.",
                               labels=["client", "endpoint"])
        latency = GaugeMetricFamily("mevbot_rpc_latency_seconds", "Moving average of call latency.",
                                    labels=["client", "endpoint"])
        for client, rpc in self.rpcs.items():
            for ep in rpc.stats():
                labels = [client, ep.url]
                calls.add_metric(labels, ep.calls)
                errors.add_metric(labels, ep.errors)
                timeouts.add_metric(labels, ep.timeouts)
                limited.add_metric(labels, ep.rate_limited)
                score.add_metric(labels, ep.score)
                up.add_metric(labels, 0 if ep.cooling_down else 1)
                if ep.latency_ewma_s is not None:
                    latency.add_metric(labels, ep.latency_ewma_s)
        yield from (calls, errors, timeouts, limited, score, up, latency)

    def _store_metrics(self) -> Iterator[Any]:
        written = CounterMetricFamily("mevbot_store_rows_written", "Rows written to the store.", labels=["table"])
        failed = CounterMetricFamily("mevbot_store_failed_rows", "Rows kept in failed_writes instead.", labels=["store"])
        queued = GaugeMetricFamily("mevbot_store_queued_rows", "Rows waiting for the writer.", labels=["store"])
        for name, stats_of in self.stores.items():
            stats = stats_of()
            for table, count in stats.get("rows_by_table", {}).items():
                written.add_metric([table], count)
            failed.add_metric([name], stats.get("failed_rows", 0))
            queued.add_metric([name], stats.get("queued", 0))
        yield from (written, failed, queued)


STATS = StatsCollector()
REGISTRY.register(STATS)


def watch_bus(bus: Any) -> None:
    """Export ``bus``'s throughput, queue depths, drops and dead letters on every scrape."""
    STATS.buses[bus.process] = bus


def watch_rpc(client: Any, name: str = "default") -> None:
    """Export an RPC client's per-endpoint calls, errors and health (``client.stats()``)."""
    STATS.rpcs[name] = client


def watch_store(stats_of: Callable[[], dict], name: str = "store") -> None:
    STATS.stores[name] = stats_of


def unwatch_all() -> None:
    STATS.buses.clear()
    STATS.rpcs.clear()
    STATS.stores.clear()


def snapshot_samples() -> list[tuple[str, str, float]]:
    """Every current sample as ``(name, labels as JSON, value)``, for the store's metrics table.

    Histogram buckets are left out (their ``_sum`` and ``_count`` are kept): they multiply the
    rows by the bucket count and Prometheus already has them at full resolution.
    """
    samples = []
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket") or sample.name.endswith("_created"):
                continue
            samples.append((sample.name, json.dumps(sample.labels, sort_keys=True), float(sample.value)))
    return samples
