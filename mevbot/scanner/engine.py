"""Evaluate the cycles through changed pools and report the profitable ones.

Pure and synchronous: the scanner module feeds it events and decides where it runs (inline in
the event loop for a handful of cycles, chunked otherwise). For each cycle through a changed
pool it sizes the input exactly (V2-only cycles: closed form refined on the exact simulator;
anything with a V3 hop: bracketed golden-section search on the exact simulator), prices the
gas (L2 estimate times gas price, plus the L1 data component) in ETH and in the start token,
and keeps the cycles whose net profit and profit-to-cost ratio pass the filters. Results are
sorted by ``(seq, tx_index, cycle_key)``, so a replay of the same events gives the same list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from mevbot.pools.state import PoolState
from mevbot.pricing.errors import MissingTickData, PricingError
from mevbot.pricing.v2 import V2PoolState
from mevbot.pricing.v3_pool import V3PoolState, simulate_v3_swap
from mevbot.scanner.cycles import Cycle, CycleIndex
from mevbot.scanner.opportunity import ArbitrageOpportunity, RouteHop
from mevbot.scanner.search import V2Hop, golden_section_search, refine_around, v2_chain_optimum

#: Looks up a pool's (speculative) state by address.
StateView = Callable[[str], PoolState | None]


@attrs.frozen
class GasModel:
    """Gas of an arbitrage through our executor, per hop kind and per V3 tick crossed."""

    base: int = 60_000
    per_v2_hop: int = 60_000
    per_v3_hop: int = 95_000
    per_tick_crossed: int = 22_000

    def estimate(self, route: Iterable[RouteHop]) -> int:
        gas = self.base
        for hop in route:
            gas += self.per_v2_hop if hop.kind == "v2" else self.per_v3_hop + hop.ticks_crossed * self.per_tick_crossed
        return gas


@attrs.frozen
class CostInputs:
    """Prices at the time of evaluation (from the last chain head)."""

    gas_price_wei: int
    l1_cost_wei: int = 0  # NodeInterface estimate or config fallback, per arbitrage


@attrs.frozen
class ScanFilters:
    min_profit: int = 0  # in start-token units, net of costs
    min_profit_to_cost: float = 1.0
    max_input: int = 10**24
    max_evaluations: int = 64


@attrs.define
class ScanCounters:
    cycles_evaluated: int = 0
    profitable: int = 0
    filtered: int = 0
    missing_data: int = 0
    unpriced: int = 0


class CycleSimulation:
    """The exact output of one cycle for a given input, on one state view."""

    def __init__(self, cycle: Cycle, view: StateView) -> None:
        self.cycle = cycle
        self.states = [view(h.pool) for h in cycle.hops]
        self.directions = [h.zero_for_one for h in cycle.hops]

    @property
    def complete(self) -> bool:
        return all(s is not None for s in self.states)

    @property
    def v2_only(self) -> bool:
        return all(isinstance(s, V2PoolState) for s in self.states)

    def __call__(self, amount_in: int) -> int:
        amount = amount_in
        for hop, state, zero_for_one in zip(self.cycle.hops, self.states, self.directions):
            if isinstance(state, V2PoolState):
                amount = state.amount_out(amount, zero_for_one)
            else:
                try:
                    amount = simulate_v3_swap(state, zero_for_one, amount).amount_out
                except MissingTickData as exc:
                    exc.pool = hop.pool.lower()  # which pool lacks the data: only it gets fetched
                    raise
            if amount <= 0:
                raise ArithmeticError("a hop gives nothing")
        return amount

    def route(self, amount_in: int, dex_of: Callable[[str], str]) -> tuple[RouteHop, ...]:
        hops = []
        amount = amount_in
        for hop, state, zero_for_one in zip(self.cycle.hops, self.states, self.directions):
            if isinstance(state, V2PoolState):
                out = state.amount_out(amount, zero_for_one)
                fee = round((state.fee_denominator - state.fee_numerator) * 1_000_000 / state.fee_denominator)
                r_in, r_out = (state.reserve0, state.reserve1) if zero_for_one else (state.reserve1, state.reserve0)
                # mid price out/in falls from r_out/r_in to (r_out-out)/(r_in+amount)
                impact = 10_000 - (r_out - out) * r_in * 10_000 // (r_out * (r_in + amount))
                hops.append(RouteHop(hop.pool, dex_of(hop.pool), "v2", hop.token_in, hop.token_out, fee, amount, out,
                                     price_impact_bps=impact))
            else:
                result = simulate_v3_swap(state, zero_for_one, amount)
                out = result.amount_out
                before, after = state.sqrt_price_x96 ** 2, result.sqrt_price_x96 ** 2
                lo, hi = min(before, after), max(before, after)
                impact = 10_000 - lo * 10_000 // hi  # the price moves against the trader either way
                hops.append(RouteHop(hop.pool, dex_of(hop.pool), "v3", hop.token_in, hop.token_out, state.fee_pips,
                                     amount, out, len(result.ticks_crossed), price_impact_bps=impact))
            amount = out
        return tuple(hops)

    def v2_hops(self) -> list[V2Hop]:
        hops = []
        for state, zero_for_one in zip(self.states, self.directions):
            r_in, r_out = (state.reserve0, state.reserve1) if zero_for_one else (state.reserve1, state.reserve0)
            hops.append(V2Hop(r_in, r_out, state.fee_numerator, state.fee_denominator))
        return hops


class Scanner:
    """Finds the profitable cycles through the pools an event changed."""

    def __init__(self, index: CycleIndex, *, filters: ScanFilters, gas: GasModel | None = None,
                 dex_of: Callable[[str], str] = lambda pool: "", weth: str | None = None) -> None:
        self.index = index
        self.filters = filters
        self.gas = gas or GasModel()
        self.dex_of = dex_of
        self.weth = weth.lower() if weth else None
        self.counters = ScanCounters()
        self.missing: dict[str, MissingTickData] = {}
        # token -> a pool pairing it with WETH, to price gas in that token (first by key order)
        self._weth_pool: dict[str, str] = {}
        if self.weth:
            for cycle in index.cycles:
                for hop in cycle.hops:
                    pair = {hop.token_in.lower(), hop.token_out.lower()}
                    if self.weth in pair and len(pair) == 2:
                        (other,) = pair - {self.weth}
                        self._weth_pool.setdefault(other, hop.pool)

    def scan(self, changed_pools: Iterable[str], view: StateView, costs: CostInputs, *, block_number: int,
             seq: int | None = None, tx_index: int | None = None,
             trigger_tx: str | None = None) -> list[ArbitrageOpportunity]:
        found = []
        for cycle in self.index.through_any(changed_pools):
            opportunity = self.evaluate(cycle, view, costs, block_number=block_number, seq=seq,
                                        tx_index=tx_index, trigger_tx=trigger_tx)
            if opportunity is not None:
                found.append(opportunity)
        found.sort(key=lambda o: o.order_key)
        return found

    def evaluate(self, cycle: Cycle, view: StateView, costs: CostInputs, *, block_number: int,
                 seq: int | None = None, tx_index: int | None = None,
                 trigger_tx: str | None = None) -> ArbitrageOpportunity | None:
        self.counters.cycles_evaluated += 1
        sim = CycleSimulation(cycle, view)
        if not sim.complete:
            return None
        try:
            if sim.v2_only:
                guess = min(v2_chain_optimum(sim.v2_hops()), self.filters.max_input)
                if guess <= 0:
                    return None
                best = refine_around(sim, guess)
            else:
                best = golden_section_search(sim, 1, self.filters.max_input,
                                             max_evaluations=self.filters.max_evaluations)
            if best.profit <= 0:
                return None
            route = sim.route(best.amount_in, self.dex_of)
        except MissingTickData as exc:
            self.counters.missing_data += 1
            self.missing.setdefault(exc.pool, exc)
            return None
        except PricingError:
            return None
        gas_units = self.gas.estimate(route)
        l2_cost = gas_units * costs.gas_price_wei
        cost_wei = l2_cost + costs.l1_cost_wei
        cost_in_start = self._wei_in_start_token(cycle.start_token, cost_wei, view)
        if cost_in_start is None:
            self.counters.unpriced += 1
            return None
        net = best.profit - cost_in_start
        ratio_ok = cost_in_start == 0 or best.profit >= self.filters.min_profit_to_cost * cost_in_start
        if net < self.filters.min_profit or not ratio_ok or net <= 0:
            self.counters.filtered += 1
            return None
        self.counters.profitable += 1
        net_wei = net if cost_in_start == cost_wei else (net * cost_wei // cost_in_start if cost_in_start else 0)
        return ArbitrageOpportunity(
            cycle_key=cycle.key, start_token=cycle.start_token, route=route, amount_in=best.amount_in,
            amount_out=best.amount_out, gross_profit=best.profit, gas_units=gas_units,
            gas_price_wei=costs.gas_price_wei, l2_cost_wei=l2_cost, l1_cost_wei=costs.l1_cost_wei,
            cost_in_start_token=cost_in_start, net_profit=net, net_profit_wei=net_wei,
            block_number=block_number, seq=seq, tx_index=tx_index, trigger_tx=trigger_tx,
            evaluations=best.evaluations,
        )

    def _wei_in_start_token(self, token: str, wei: int, view: StateView) -> int | None:
        """``wei`` of ETH in units of ``token``: 1:1 for WETH, else through a WETH pool's price."""
        if wei == 0:
            return 0
        token = token.lower()
        if self.weth is None or token == self.weth:
            return wei
        pool = self._weth_pool.get(token)
        state = view(pool) if pool else None
        weth_is_0 = self.weth < token
        if isinstance(state, V2PoolState) and state.reserve0 and state.reserve1:
            r_weth, r_tok = (state.reserve0, state.reserve1) if weth_is_0 else (state.reserve1, state.reserve0)
            return wei * r_tok // r_weth
        if isinstance(state, V3PoolState):
            p = state.sqrt_price_x96 * state.sqrt_price_x96  # token1 per token0, Q192
            return (wei * p >> 192) if weth_is_0 else (wei << 192) // p
        return None
