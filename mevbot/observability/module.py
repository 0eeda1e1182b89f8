"""The observability module: serves /metrics, measures the pipeline from the bus, raises alerts.

It needs nothing from the other modules but the bus. Its subscriptions use ``drop-oldest``
overflow with a small queue, so observing can never slow a publisher down; a drop only costs a
sample. From the envelopes it derives, without the producers' help:

* stage latencies: the trace id a ``feed.block`` starts is inherited by the intent, the
  opportunity, the decision and the result it leads to, so each stage's latency is that
  envelope's creation time minus the feed block's (``decoded``, ``opportunity``, ``risk``,
  ``receipt``; ``signed``/``sent`` are observed by the execution engine itself with
  :func:`mevbot.observability.metrics.observe_trace_stage`);
* feed lag (now minus the block's sequencer timestamp) and a stalled feed;
* opportunities, executions by status and realised PnL;
* alerts on breaker trips (``risk.breaker``), and, on each check, on the emergency stop being
  set, RPC endpoints going down (clients registered with ``metrics.watch_rpc``) and a growing
  dead letter queue.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import trio

from mevbot.observability import metrics
from mevbot.observability.alerts import Alerter
from mevbot.observability.conditions import DeadLetterGrowth, EndpointsDown, FeedStall, Finding, StopWatch
from mevbot.observability.server import serve_metrics
from mevbot.observability.settings import ObservabilitySettings
from mevbot.runtime.module import Module, ModuleContext

#: topic -> stage whose latency is measured from the feed block of the same trace.
STAGE_OF_TOPIC = {"market.swap.intent": "decoded", "arb.opportunity": "opportunity", "risk.decision": "risk",
                  "exec.result": "receipt"}
WAITING_TRACES = 10_000
WATCHED_TOPICS = ("feed.block", "market.swap.intent", "arb.opportunity", "risk.decision", "exec.result",
                  "risk.breaker")


class ObservabilityModule(Module):
    name = "observability"
    section = "observability"
    depends_on = ()

    def __init__(self, *, metrics_port: int | None = None, clock=time.time) -> None:
        self.metrics_port_override = metrics_port  # tests: 0 picks a free port
        self.clock = clock
        self.metrics_port: int | None = None
        self.alerter: Alerter | None = None
        self.feed = FeedStall(30.0)
        self.endpoints = EndpointsDown()
        self.dead_letters = DeadLetterGrowth(100)
        self.stop = StopWatch()
        self._stop_store: Any = None
        #: Stage samples whose feed block this module has not seen yet: each topic has its own
        #: subscription, so an intent can be read before the block it came from. Bounded.
        self._waiting: collections.OrderedDict[int, list[tuple[str, int]]] = collections.OrderedDict()

    def apply_config(self, ctx: ModuleContext, new_section: ObservabilitySettings) -> None:
        ctx.config = new_section
        self._configure(new_section)

    def _configure(self, s: ObservabilitySettings) -> None:
        self.feed.stall_s = s.feed_stall_s
        self.dead_letters.threshold = s.dead_letter_alert
        if self.alerter is not None:
            self.alerter.min_interval_s = s.alert_interval_s
            self.alerter.timeout_s = s.alert_timeout_s

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        s: ObservabilitySettings = ctx.config or ObservabilitySettings()
        risk = getattr(ctx.full_config, "risk", None)
        if risk is not None:
            from mevbot.risk.breakers import EmergencyStopStore
            self._stop_store = EmergencyStopStore(risk.state_path)
        bus = ctx.bus
        if bus is not None:
            metrics.watch_bus(bus)
        subs = [bus.subscribe(topic, name=f"observability:{topic}", queue_size=1000, overflow="drop-oldest")
                for topic in WATCHED_TOPICS] if bus is not None else []
        port = self.metrics_port_override if self.metrics_port_override is not None else s.metrics_port
        try:
            async with Alerter(s.alert_webhook, min_interval_s=s.alert_interval_s, timeout_s=s.alert_timeout_s,
                               log=ctx.log) as alerter:
                self.alerter = alerter
                self._configure(s)
                async with trio.open_nursery() as nursery:
                    self.metrics_port = await nursery.start(serve_metrics, port)
                    for sub in subs:
                        nursery.start_soon(self._observe, ctx, sub)
                    nursery.start_soon(self._check_loop, ctx)
                    ctx.health.ok(f"metrics on 127.0.0.1:{self.metrics_port}")
                    task_status.started()
        finally:
            for sub in subs:
                sub.close()
            if bus is not None:
                metrics.STATS.buses.pop(bus.process, None)

    async def _observe(self, ctx: ModuleContext, sub: Any) -> None:
        while True:
            for env in await sub.receive_batch():
                try:
                    await self.observe(env)
                except Exception as exc:  # a malformed payload costs a sample, never the module
                    ctx.log.warning("observability: cannot read %s from %s: %r", env.topic, env.source, exc)

    async def observe(self, env: Any) -> None:
        """Update the metrics (and raise alerts) from one envelope."""
        topic, payload = env.topic, env.payload
        if topic == "feed.block":
            metrics.note_trace_start(env.trace_id, env.created_ns)
            for stage, at_ns in self._waiting.pop(env.trace_id, ()):
                metrics.observe_trace_stage(stage, env.trace_id, at_ns)
            now = self.clock()
            self.feed.block_arrived(now)
            metrics.set_feed_lag(max(0.0, now - payload.timestamp))
            return
        stage = STAGE_OF_TOPIC.get(topic)
        if stage is not None and not metrics.observe_trace_stage(stage, env.trace_id, env.created_ns):
            self._waiting.setdefault(env.trace_id, []).append((stage, env.created_ns))
            if len(self._waiting) > WAITING_TRACES:
                self._waiting.popitem(last=False)  # its block never came here: the sample is dropped
        if topic == "arb.opportunity":
            metrics.count_opportunity()
        elif topic == "exec.result":
            landed = payload.status in ("succeeded", "reverted")  # only a landed tx paid gas
            metrics.count_execution(payload.status, realised_profit_wei=payload.realised_profit or 0,
                                    gas_cost_wei=(payload.gas_cost_wei or 0) if landed else 0)
        elif topic == "risk.breaker":
            await self._raise(Finding("breaker_trip", f"circuit breaker tripped: {payload.reason}",
                                      {"resume_at": payload.resume_at}))

    async def _raise(self, finding: Finding) -> None:
        if self.alerter is not None:
            await self.alerter.alert(finding.kind, finding.message, **finding.fields)

    async def check(self, ctx: ModuleContext) -> None:
        """One pass over the polled conditions."""
        findings: list[Finding | None] = [self.feed.check(self.clock())]
        if ctx.bus is not None:
            dlq = ctx.bus.dlq.stats()
            findings.append(self.dead_letters.check(dlq["total"], dlq["queued"]))
        for client, rpc in list(metrics.STATS.rpcs.items()):
            findings.extend(self.endpoints.check(client, rpc.stats()))
        if self._stop_store is not None:
            stop = await trio.to_thread.run_sync(self._stop_store.refresh)
            findings.append(self.stop.check(stop.active, stop.reason))
        for finding in findings:
            if finding is not None:
                await self._raise(finding)

    async def _check_loop(self, ctx: ModuleContext) -> None:
        while True:
            s: ObservabilitySettings = ctx.config or ObservabilitySettings()
            await trio.sleep(s.check_interval_s)
            await self.check(ctx)
