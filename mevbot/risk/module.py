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
from mevbot.risk.rules import TOPIC_DECISION, RiskBook, RiskDecision, judge
from mevbot.runtime.module import Module, ModuleContext
from mevbot.runtime.priority import when_idle
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
                while True:
                    try:
                        batch = await opps.receive_batch()
                    except trio.EndOfChannel:
                        break
                    if not ctx.gate.is_open:  # wait_open() checkpoints even when open: a wait per batch
                        await ctx.gate.wait_open()
                    await self._judge_batch(ctx, [(env.payload, env.trace_id) for env in batch])
                nursery.cancel_scope.cancel()

    async def _judge_batch(self, ctx: ModuleContext, batch: list[tuple[object, int]]) -> None:
        """Judge queued opportunities in arrival order, as :meth:`_judge` would one by one (the
        same decisions), but publish each approval and its request at once and the rejections'
        decisions after the batch: a scanner's burst (a state change reports one opportunity per
        profitable cycle, the later ones mostly through pools the first one now holds) then
        costs the approved trade no wait behind a dozen rejections being published."""
        rejected = []
        approved = False
        try:
            for opp, trace_id in batch:
                decision, request = self._decide(ctx, opp)
                if request is not None:
                    await self._approve(ctx, decision, request, trace_id)
                    approved = True
                else:
                    rejected.append((decision, trace_id))
            if approved and rejected:
                # Let execution take the request, put its simulation on the wire and sign before
                # the rejections are published: they wait for an idle loop (mevbot.runtime.priority).
                await when_idle()
        finally:
            # judged is judged: a STOP during that wait (or an approval's publish) still
            # publishes them (the audit trail), in a cleanup the shutdown deadline bounds
            if rejected:
                with ctx.shielded_cleanup():
                    for decision, trace_id in rejected:
                        await self._reject(ctx, decision, trace_id)

    async def _judge(self, ctx: ModuleContext, opp, trace_id: int) -> None:
        """Judge one opportunity and publish the decision (and, if approved, the request)."""
        decision, request = self._decide(ctx, opp)
        if request is not None:
            await self._approve(ctx, decision, request, trace_id)
        else:
            await self._reject(ctx, decision, trace_id)

    def _decide(self, ctx: ModuleContext, opp) -> tuple[RiskDecision, ExecutionRequest | None]:
        """The decision on ``opp``, and the request to send if approved (its trade is open in the
        book from here, so the next opportunity through its pools is held)."""
        now = self.clock()
        for request_id in self.book.expire(now, ctx.config.in_flight_timeout_s):
            ctx.log.warning("no execution result for %s within %gs: no longer counted in flight", request_id,
                            ctx.config.in_flight_timeout_s)
        decision = judge(opp, ctx.config, self.book, now=now, halted=self.halted())
        if not decision.approved:
            self.rejected += 1
            return decision, None
        self.approved += 1
        self._requests += 1
        position = f"{opp.seq}.{opp.tx_index}" if opp.seq is not None else f"b{opp.block_number}"
        request = ExecutionRequest(f"{position}.{self._requests}", opp)
        self.book.open_trade(request.request_id, opp, now=now)
        return decision, request

    async def _approve(self, ctx: ModuleContext, decision: RiskDecision, request: ExecutionRequest,
                       trace_id: int) -> None:
        await ctx.bus.publish(TOPIC_DECISION, decision, source=self.name, trace_id=trace_id)
        await ctx.bus.publish(TOPIC_REQUEST, request, source=self.name, trace_id=trace_id)

    async def _reject(self, ctx: ModuleContext, decision: RiskDecision, trace_id: int) -> None:
        await ctx.bus.publish(TOPIC_DECISION, decision, source=self.name, trace_id=trace_id)
        # debug: a rejection is published and stored already (risk_decisions); at info, a
        # scanner's bursts made this the bot's busiest log line (~3700 a minute, ~0.2 ms each)
        ctx.log.debug("rejected %s by %s: %s", decision.cycle_key, decision.rule, decision.reason)

    async def _results(self, ctx: ModuleContext, sub) -> None:
        async for env in sub:
            await self.on_result(ctx, env.payload, env.trace_id)

    async def on_result(self, ctx: ModuleContext, result, trace_id: int = 0) -> None:
        """Close the trade of one execution result; failures count towards the breaker (a trip
        carries the trace of the result that tripped it)."""
        now = self.clock()
        if result.status in ("dropped", "dry_run"):
            self.book.forget(result.request_id)
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
