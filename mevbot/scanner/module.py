"""The scanner module: pool state in, arbitrage opportunities out.

It keeps the latest (speculative) state of every pool from ``pools.state`` and the gas price
from ``chain.head``. For each state change it evaluates only the cycles through the pools that
changed, one cycle at a time, yielding to the event loop every ``CHUNK_BUDGET_NS`` (0.5 ms: a
scan never holds the loop for longer than that plus one cycle's search), fetches tick data a
simulation asks for, and publishes the profitable ones on ``arb.opportunity`` in (feed position,
most profitable first, cycle key) order. Decision first (engine.DecisionFirst): the most
profitable one within risk's per-hop price-impact limit (``[risk] max_price_impact_bps``, a
rule that needs no risk state) and through no pool of a trade in flight (risk's
``pool_in_flight``: the scanner follows ``exec.request`` and ``exec.result`` for it) is
published as soon as branch and bound has proven it the best, before the others are sized;
they follow by (-net profit, cycle key), so an event publishes the same opportunities as
before, and in the same order unless the most profitable one fails either test (it would only
be rejected: the decision is what risk can approve).

When changes queued up while a scan ran (the scanner is behind), the next step takes them all
and evaluates them as one (``_on_changes``: latest state per pool, the cycles through every pool
that moved, at the newest change's feed position), rather than one stale state after another.
A scanner that keeps up gets one change per step and behaves exactly as before; replay calls
``_on_change`` per message. The L1 data cost comes from Arbitrum's NodeInterface once per head
where the endpoint offers it (mevbot/scanner/l1cost.py), else from ``[scanner] l1_gas_estimate``.

Clustered, each instance evaluates only its shard of the cycles (``[scanner] shard = "i/n"``,
see mevbot/deploy/shard.py), so n instances find every opportunity exactly once. The pipeline
publishes its start-up snapshot before the scanner subscribes (it is ready only once it has
one, and the scanner starts after it), and in a distributed deployment the pipeline may run in
another process or have started long before this instance: so before it is ready the scanner
reads from RPC the state of every pool of its cycles that it has not been sent yet; every later
``pools.state`` change from the pipeline then replaces that pool's state.
"""

from __future__ import annotations

import time

import trio

from mevbot.pools.messages import TOPIC_POOL_STATE, PoolStateChange
from mevbot.risk.rules import RiskBook
from mevbot.runtime.heap import freeze_startup_heap
from mevbot.runtime.module import Module, ModuleContext
from mevbot.runtime.priority import when_idle
from mevbot.scanner.opportunity import TOPIC_OPPORTUNITY

TOPIC_CHAIN_HEAD = "chain.head"
#: A head's base fee waits at most this long for its NodeInterface L1 estimate (then the last one).
L1_QUERY_TIMEOUT_S = 2.0

#: How many ended trades the scanner remembers, so that their requests arriving after their
#: results (another lane, a redelivery) do not hold their pools until risk's in-flight timeout.
ENDED_REMEMBERED = 1024


#: A scan yields to the event loop once it has run this long since it last did. A checkpoint
#: costs 4-5 us, more than most cycles' evaluation (a pruned one takes ~1 us), so yielding after
#: every cycle doubled a busy intent's scan; bench/scanner_concurrency.py measures both. A block
#: is this plus one cycle's evaluation (at most a few hundred us): within the issue's ~1 ms.
CHUNK_BUDGET_NS = 500_000


class ChunkClock:
    """Checkpoints a CPU-bound loop every ``budget_ns`` of wall time it has held the event loop.

    ``pause`` is how it yields: a plain checkpoint, or for work after the decision
    :func:`mevbot.runtime.priority.when_idle`, so that the decision's way through risk and
    execution (in one process) runs before the rest is sized, not between its chunks."""

    def __init__(self, budget_ns: int = CHUNK_BUDGET_NS, *, pause=trio.lowlevel.checkpoint) -> None:
        self.budget_ns = budget_ns
        self.pause = pause
        self.since = time.perf_counter_ns()

    def restart(self) -> None:
        self.since = time.perf_counter_ns()

    async def tick(self) -> None:
        if time.perf_counter_ns() - self.since >= self.budget_ns:
            await self.pause()
            self.since = time.perf_counter_ns()


class ScannerModule(Module):
    name = "scanner"
    section = "scanner"
    depends_on = ("pipeline",)

    def __init__(self) -> None:
        self.states: dict = {}
        self.blocks: dict[str, int] = {}
        self.scanner = None
        self.registry = None
        self.base_fee_wei = 0
        self.published = 0
        self.coalesced = 0  # state changes folded into a later one because the scanner was behind
        # NodeInterface's L1 estimate, refreshed by _heads; replay drives no heads task, so there
        # it never answers and the cost is [scanner] l1_gas_estimate * base fee, as before
        self.l1 = None
        self._scan_view = None  # the current scan's memoised state view (renewed after a fetch)
        # risk's trades in flight, as its requests and their results tell: the decision avoids
        # their pools, which risk holds (rule pool_in_flight) until the result comes
        self.trades_in_flight = RiskBook()
        self._ended: dict[str, None] = {}  # the latest results' request ids, oldest first

    def _build(self, ctx: ModuleContext) -> None:
        from mevbot.deploy.shard import parse_shard, shard_index
        from mevbot.runtime.deployment import load_manifest, load_registry, weth_of
        from mevbot.scanner.cycles import build_cycle_index
        from mevbot.scanner.engine import ScanFilters, Scanner

        cfg, full = ctx.config, ctx.full_config
        registry = load_registry(full)
        weth = weth_of(load_manifest(full))
        starts = [t.lower() for t in cfg.start_tokens] or ([weth] if weth else None)
        index = build_cycle_index(registry.pools(), start_tokens=starts, max_hops=cfg.max_hops)
        shard, shards = parse_shard(cfg.shard)
        all_cycles = len(index.cycles)
        index = shard_index(index, shard, shards)
        self.registry = registry
        filters = ScanFilters(min_profit=cfg.min_profit_wei, min_profit_to_cost=cfg.min_profit_to_cost,
                              max_input=full.risk.max_trade_wei, max_evaluations=cfg.max_evaluations)
        dexes = {p.address: p.dex for p in registry.pools()}
        self.scanner = Scanner(index, filters=filters, weth=weth, dex_of=lambda p: dexes.get(p.lower(), ""))
        if index.cycles:
            from mevbot.scanner.l1cost import L1CostEstimator, representative_call

            longest = max(index.cycles, key=lambda c: len(c.hops))  # the first of the longest, in key order
            self.l1 = L1CostEstimator(representative_call(longest.start_token, [h.pool for h in longest.hops]),
                                      logger=ctx.log)
        if shards > 1:
            ctx.log.info("scanner: shard %d/%d: %d of %d cycles, through %d of %d pools", shard, shards,
                         len(index.cycles), all_cycles, len(index.by_pool), len(dexes))
        else:
            ctx.log.info("scanner: %d cycles over %d pools", len(index.cycles), len(dexes))

    @staticmethod
    def pipeline_elsewhere(bus) -> bool:
        """Whether the pipeline runs in another process of this bus's placement."""
        deploy = getattr(bus, "deploy", None)
        if deploy is None or not deploy.processes or bus.process not in deploy.processes:
            return False
        return "pipeline" not in deploy.processes[bus.process].modules

    async def _read_own_snapshot(self, ctx: ModuleContext, rpc) -> None:
        from mevbot.pools.fetch import fetch_snapshot

        wanted = [p for p in sorted(self.scanner.index.by_pool) if p not in self.states]
        if not wanted:
            return
        block = await rpc.block_number()
        words = ctx.full_config.pipeline.v3_words_around
        read = 0
        for pool in wanted:
            info = self.registry.pool(pool)
            if info is None or pool in self.states:
                continue  # sent by the pipeline meanwhile: as new as a read of ours
            self.states[pool] = await fetch_snapshot(rpc, info, block, words_around=words)
            read += 1
        where = "in another process" if self.pipeline_elsewhere(ctx.bus) else "here"
        ctx.log.info("scanner: read %d pools at block %d (pipeline %s)", read, block, where)

    def apply_config(self, ctx: ModuleContext, new_section) -> None:
        ctx.config = new_section
        if self.scanner is not None:
            import attrs

            self.scanner.filters = attrs.evolve(self.scanner.filters, min_profit=new_section.min_profit_wei,
                                                min_profit_to_cost=new_section.min_profit_to_cost)

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        from mevbot.execution.engine import TOPIC_REQUEST, TOPIC_RESULT
        from mevbot.rpc.client import RpcClient

        self._build(ctx)
        bus = ctx.bus
        async with RpcClient.from_settings(ctx.full_config.rpc) as rpc:
            with bus.subscribe(TOPIC_POOL_STATE, name="scanner.state") as states, \
                    bus.subscribe(TOPIC_CHAIN_HEAD, name="scanner.heads", overflow="drop-oldest") as heads, \
                    bus.subscribe(TOPIC_REQUEST, name="scanner.requests") as requests, \
                    bus.subscribe(TOPIC_RESULT, name="scanner.results") as results:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._heads, rpc, heads)
                    nursery.start_soon(self._trades_opened, requests)
                    nursery.start_soon(self._trades_ended, results)
                    await self._read_own_snapshot(ctx, rpc)
                    freeze_startup_heap()
                    ctx.health.ok(f"{len(self.scanner.index.cycles)} cycles indexed")
                    task_status.started()
                    while True:
                        try:
                            batch = await states.receive_batch()
                        except trio.EndOfChannel:
                            break
                        await ctx.gate.wait_open()
                        if len(batch) == 1:  # keeping up: one change, evaluated as it came
                            await self._on_change(ctx, rpc, batch[0].payload, batch[0].trace_id)
                        else:
                            await self._on_changes(ctx, rpc, [(env.payload, env.trace_id) for env in batch])
                    nursery.cancel_scope.cancel()

    async def _heads(self, rpc, sub) -> None:
        """The base fee of each head, and with it NodeInterface's L1 estimate at that head: both
        change together, so a scan never prices one head's base fee with another's L1 answer."""
        async for env in sub:
            head = env.payload
            if head.base_fee_per_gas is None:
                continue
            if self.l1 is not None:
                with trio.move_on_after(L1_QUERY_TIMEOUT_S):
                    await self.l1.refresh(rpc, head.number)
            self.base_fee_wei = head.base_fee_per_gas

    async def _trades_opened(self, sub) -> None:
        async for env in sub:
            request = env.payload
            if request.request_id not in self._ended:  # a result that overtook it, or a redelivery
                self.trades_in_flight.open_trade(request.request_id, request.opportunity, now=trio.current_time())

    async def _trades_ended(self, sub) -> None:
        async for env in sub:
            request_id = env.payload.request_id
            self.trades_in_flight.forget(request_id)
            self._ended[request_id] = None
            if len(self._ended) > ENDED_REMEMBERED:
                del self._ended[next(iter(self._ended))]

    def _apply(self, change: PoolStateChange) -> bool:
        """Take ``change``'s pool states; whether it moved anything (a snapshot does not)."""
        from mevbot.pools.state import PoolSnapshot

        for entry in change.entries:
            self.states[entry.address.lower()] = PoolSnapshot(entry.address.lower(), entry.state, change.block_number)
        return change.cause != "snapshot"  # a snapshot is the initial picture: nothing moved yet

    async def _on_change(self, ctx: ModuleContext, rpc, change: PoolStateChange, trace_id: int) -> None:
        """One state change: evaluate the cycles through its pools (what replay drives)."""
        if self._apply(change):
            await self._evaluate(ctx, rpc, [e.address for e in change.entries], change, trace_id)

    async def _on_changes(self, ctx: ModuleContext, rpc, changes: list[tuple[PoolStateChange, int]]) -> None:
        """Several changes that queued up while the scanner was busy, as one: every pool takes
        its latest state, and the cycles through any pool that moved are evaluated once, at the
        feed position (and trace) of the newest change that moved something. The states in
        between are gone already: opportunities priced on them would be stale by the time they
        were published, and evaluating each would only make the newest wait longer. Only
        reached when changes are waiting, so a scanner that keeps up (and replay, which calls
        :meth:`_on_change` per message) behaves exactly as before."""
        moved: dict[str, None] = {}  # insertion-ordered set
        newest = None
        for change, trace_id in changes:
            if self._apply(change):
                moved.update(dict.fromkeys(e.address.lower() for e in change.entries))
                newest = (change, trace_id)
        if newest is None:
            return
        self.coalesced += len(changes) - 1
        await self._evaluate(ctx, rpc, list(moved), newest[0], newest[1])

    async def _evaluate(self, ctx: ModuleContext, rpc, pools: list[str], change: PoolStateChange,
                        trace_id: int) -> None:
        """The cycles through ``pools`` on the current states, decision first: the most
        profitable opportunity is published as soon as it is known (DecisionFirst: every cycle
        screened, then exact passes best bound first until no other can beat it), then the
        others are sized and published after it, best first (ArbitrageOpportunity.order_key):
        the same list as when all were published at the end, and in the same order unless the
        most profitable one is over risk's price-impact limit (then the best within it leads)."""
        from mevbot.scanner.engine import CostInputs, DecisionFirst, _ViewMemo

        cfg = ctx.config
        gas_price = self.base_fee_wei + ctx.full_config.execution.priority_fee_wei
        if self.l1 is not None:
            l1_cost = self.l1.cost_wei(cfg.l1_gas_estimate, self.base_fee_wei)
        else:
            l1_cost = cfg.l1_gas_estimate * self.base_fee_wei
        costs = CostInputs(gas_price_wei=gas_price, l1_cost_wei=l1_cost)
        scanner = self.scanner
        chunk = ChunkClock()
        self._scan_view = _ViewMemo(self._view).__getitem__  # each pool looked up once per scan, until a fetch
        candidates = []
        for cycle in scanner.index.through_any(pools):
            candidate = scanner.candidate(cycle, self._scan_view, costs)  # float estimates only: no fetch
            if candidate is not None:
                candidates.append(candidate)
            await chunk.tick()
        # the decision must pass the risk manager's per-hop price-impact limit and avoid the
        # pools of its trades in flight: a more profitable cycle that fails either would only be
        # rejected, and the trade risk does approve then came from the rest, sized and published
        # after the decision's wait (in a 30 s devnet run, 30 of 38 feed-triggered requests did;
        # risk had rejected 44 first decisions for max_price_impact; then, 24 for pool_in_flight)
        risk = ctx.full_config.risk
        max_impact_bps = risk.max_price_impact_bps
        self.trades_in_flight.expire(trio.current_time(), risk.in_flight_timeout_s)
        busy = self.trades_in_flight.busy_pools()
        plan = DecisionFirst(candidates, lambda opp: all(
            hop.price_impact_bps <= max_impact_bps and hop.pool.lower() not in busy for hop in opp.route))
        while (candidate := plan.next_to_decide()) is not None:
            if candidate[5] is None:
                plan.requeue(scanner.refine(candidate, self._scan_view, costs))
            else:
                plan.record(await self._size(ctx, rpc, candidate, costs, change, chunk))
            await chunk.tick()
        if plan.decision is not None:
            await ctx.bus.publish(TOPIC_OPPORTUNITY, plan.decision, source=self.name, trace_id=trace_id)
            self.published += 1
            await when_idle()  # the decision's subscribers (risk, then execution) go first
        chunk = ChunkClock(pause=when_idle)
        for candidate in plan.undecided():
            plan.add(await self._size(ctx, rpc, candidate, costs, change, chunk))
            await chunk.tick()
        for opp in plan.rest():
            await ctx.bus.publish(TOPIC_OPPORTUNITY, opp, source=self.name, trace_id=trace_id)
            self.published += 1

    async def _size(self, ctx: ModuleContext, rpc, candidate: tuple, costs, change: PoolStateChange, chunk):
        """One candidate's exact pass; when a walk past the known ticks needs data, fetch it
        and evaluate the cycle again on the extended states (up to four times, as before)."""
        from mevbot.pools.fetch import fill_missing
        from mevbot.scanner.engine import _ViewMemo

        scanner = self.scanner
        position = dict(block_number=change.block_number, seq=change.seq, tx_index=change.tx_index,
                        trigger_tx=change.trigger_tx)
        opp = None
        for attempt in range(4):
            if attempt == 0:
                opp = scanner.size(candidate, self._scan_view, costs, **position)
            else:  # afresh: the candidate's hops hold the states from before the fetch
                opp = scanner.evaluate(candidate[2], self._scan_view, costs, **position)
            if not scanner.missing:
                break
            try:
                await fill_missing(rpc, self.states, scanner.missing)
            except Exception as exc:
                ctx.log.warning("tick data fetch failed: %s", exc)
                opp = None
                break
            finally:
                scanner.missing.clear()
                self._scan_view = _ViewMemo(self._view).__getitem__  # the fetch extended states
                chunk.restart()  # the fetch waited on the network: the loop ran meanwhile
        return opp

    def _view(self, pool: str):
        snap = self.states.get(pool.lower())
        return snap.state if snap is not None else None
