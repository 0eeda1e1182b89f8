"""The risk module: every opportunity is judged before anything is sent.

Subscribes to ``arb.opportunity`` (judged by :func:`mevbot.risk.rules.judge`; every decision is
published on ``risk.decision`` for audit, approved ones become ``exec.request``, a critical
topic), ``exec.result`` (realised PnL and gas for the limits; failures feed the breaker) and
``pools.state`` (abnormal pool moves trip the breaker). The emergency stop is the persisted
:class:`~mevbot.risk.breakers.EmergencyStopStore` shared with `mevbot ctl` and the execution
module, so it holds across restarts until cleared.
"""

from __future__ import annotations

import time

import trio

from mevbot.execution.engine import TOPIC_REQUEST, TOPIC_RESULT, ExecutionRequest
from mevbot.pools.messages import TOPIC_POOL_STATE
from mevbot.risk.breakers import TOPIC_BREAKER, CircuitBreaker, EmergencyStopStore
from mevbot.risk.rules import TOPIC_DECISION, RiskBook, judge
from mevbot.runtime.module import Module, ModuleContext
from mevbot.scanner.opportunity import TOPIC_OPPORTUNITY


class RiskModule(Module):
    name = "risk"
    section = "risk"
    depends_on = ("scanner",)

    def __init__(self, clock=time.time) -> None:
        self.clock = clock
        self.book = RiskBook()
        self.breaker: CircuitBreaker | None = None
        self.stop: EmergencyStopStore | None = None
        self.approved = 0
        self.rejected = 0
        self._requests = 0

    def _make_breaker(self, cfg) -> CircuitBreaker:
        return CircuitBreaker(max_consecutive_failures=cfg.max_consecutive_failures, cooldown_s=cfg.breaker_cooldown_s,
                              volatility_window_s=cfg.volatility_window_s, max_pool_move_bps=cfg.max_pool_move_bps)

    def apply_config(self, ctx: ModuleContext, new_section) -> None:
        ctx.config = new_section
        if self.breaker is not None:
            b = self.breaker
            b.max_consecutive_failures = new_section.max_consecutive_failures
            b.cooldown_s = new_section.breaker_cooldown_s
            b.volatility_window_s = new_section.volatility_window_s
            b.max_pool_move_bps = new_section.max_pool_move_bps

    def halted(self) -> str | None:
        stop = self.stop.refresh()
        if stop.active:
            return f"emergency stop: {stop.reason}"
        return self.breaker.halted(self.clock())

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self.breaker = self._make_breaker(ctx.config)
        self.stop = EmergencyStopStore(ctx.config.state_path)
        if self.stop.current.active:
            ctx.log.warning("emergency stop in force since a previous run: %s", self.stop.current.reason)
        bus = ctx.bus
        with bus.subscribe(TOPIC_OPPORTUNITY, name="risk.opportunities") as opps, \
                bus.subscribe(TOPIC_RESULT, name="risk.results") as results, \
                bus.subscribe(TOPIC_POOL_STATE, name="risk.volatility", overflow="drop-oldest") as states:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._results, ctx, results)
                nursery.start_soon(self._volatility, ctx, states)
                ctx.health.ok("judging opportunities")
                task_status.started()
                async for env in opps:
                    await ctx.gate.wait_open()
                    await self._judge(ctx, env.payload, env.trace_id)
                nursery.cancel_scope.cancel()

    async def _judge(self, ctx: ModuleContext, opp, trace_id: int) -> None:
        now = self.clock()
        for request_id in self.book.expire(now, ctx.config.in_flight_timeout_s):
            ctx.log.warning("no execution result for %s within %gs: no longer counted in flight", request_id,
                            ctx.config.in_flight_timeout_s)
        decision = judge(opp, ctx.config, self.book, now=now, halted=self.halted())
        await ctx.bus.publish(TOPIC_DECISION, decision, source=self.name, trace_id=trace_id)
        if not decision.approved:
            self.rejected += 1
            ctx.log.info("rejected %s by %s: %s", opp.cycle_key, decision.rule, decision.reason)
            return
        self.approved += 1
        self._requests += 1
        position = f"{opp.seq}.{opp.tx_index}" if opp.seq is not None else f"b{opp.block_number}"
        request = ExecutionRequest(f"{position}.{self._requests}", opp)
        self.book.open_trade(request.request_id, opp, now=now)
        await ctx.bus.publish(TOPIC_REQUEST, request, source=self.name, trace_id=trace_id)

    async def _results(self, ctx: ModuleContext, sub) -> None:
        async for env in sub:
            await self.on_result(ctx, env.payload, env.trace_id)

    async def on_result(self, ctx: ModuleContext, result, trace_id: int = 0) -> None:
        """Close the trade of one execution result; failures count towards the breaker (a trip
        carries the trace of the result that tripped it)."""
        now = self.clock()
        if result.status in ("dropped", "dry_run"):
            self.book.in_flight.pop(result.request_id, None)
            return
        self.book.close_trade(result.request_id, profit_wei=result.realised_profit or 0,
                              gas_wei=result.gas_cost_wei or 0, now=now)
        trip = self.breaker.record_execution(succeeded=result.status == "succeeded", now=now)
        if trip is not None:
            ctx.log.error("circuit breaker tripped: %s", trip.reason)
            ctx.health.degraded(f"circuit breaker: {trip.reason}")
            await ctx.bus.publish(TOPIC_BREAKER, trip, source=self.name, trace_id=trace_id)

    async def _volatility(self, ctx: ModuleContext, sub) -> None:
        async for env in sub:
            await self.on_state(ctx, env.payload, env.trace_id)

    async def on_state(self, ctx: ModuleContext, change, trace_id: int = 0) -> None:
        """Track the prices of the pools one state change moved; a wild move trips the breaker
        (the trip carries the trace of the change)."""
        if change.cause == "snapshot":
            return
        for entry in change.entries:
            if entry.v2 is not None and entry.v2.reserve0:
                price = (entry.v2.reserve1 << 96) // entry.v2.reserve0
            elif entry.v3 is not None:
                price = entry.v3.sqrt_price_x96 * entry.v3.sqrt_price_x96 >> 96
            else:
                continue
            trip = self.breaker.record_price(entry.address, price, now=self.clock())
            if trip is not None:
                ctx.log.error("circuit breaker tripped: %s", trip.reason)
                ctx.health.degraded(f"circuit breaker: {trip.reason}")
                await ctx.bus.publish(TOPIC_BREAKER, trip, source=self.name, trace_id=trace_id)
