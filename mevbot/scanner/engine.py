"""Evaluate the cycles through changed pools and report the profitable ones.

Pure and synchronous: the scanner module feeds it events and decides where it runs (inline in
the event loop, one cycle per step). For each cycle through a changed pool, :class:`Scanner`:

1. **Prunes** the cycle when the product of its hops' marginal rates at the current prices,
   after fees, is at most 1. Each hop's exact output is at most its marginal rate at zero input
   times the input (both pool kinds give decreasing marginal rates, and their integer rounding
   only ever favours the pool; tests/pricing/test_v3_quote.py checks the V3 bound exactly), so
   such a cycle returns at most its input at every size: no profit, no report. The rates are
   floats; the cycle is pruned only below ``1 - PRUNE_MARGIN`` (1e-9, a million times the
   worst float error of a 3-hop product), so rounding never prunes a cycle the exact
   arithmetic would keep.
2. **Sizes** the others on the exact integer simulator. V2-only cycles: the integer closed form
   of the composed constant-product map, simulated once. With a V3 hop: Newton steps on the
   exact simulator. The first point is the same closed form on the V3 pools' virtual reserves
   in their current range (where a V3 pool *is* a constant-product pool). After each exact
   simulation, every hop's state at its simulated end point gives the constant-product map
   the cycle follows from there, exactly as long as each V3 hop stays in the price segment it
   ended in (up to its next initialised tick or word edge); the optimum of that map is the next
   point. The search stops when a point ends in the very segments of the model that chose it
   (then it is the real-valued optimum), when the next step is below one *grain* (the input
   that moves an intermediate hop's integer output by one unit of its token: below that the
   exact profit is a staircase of roundings no search resolves) or 2^-32 of the input, or
   after ``max_evaluations``; a bracket from the marginal rates at the simulated points
   (profit is concave) catches steps that overshoot (regula falsi, else bisection). A hop
   without liquidity at its price falls back to the golden-section search. Every reported
   amount is the simulator's, at the best simulated point.
   The steps before the last are taken on float estimates first (``_presearch``: the same
   segments from the memoised swap walks, real-valued within them, a cheaper pass than an
   exact one), so the exact search starts at their point and usually just confirms it: one
   exact simulation per cycle instead of two to four. The exact search's stopping rule is
   unchanged, so a point is only ever accepted on exact simulations.
3. **Prices** the gas (L2 estimate times gas price, plus the L1 data component) in ETH and in
   the start token, and keeps the cycles whose net profit and profit-to-cost ratio pass.

Per (pool, direction), the marginal rate and virtual reserves are computed once per state
object (states are immutable; a new state object is new data). :class:`ReferenceScanner` is
the unoptimised search kept for checking: no prune, golden-section over ``[1, max_input]`` on
:class:`CycleSimulation` (which calls ``simulate_v3_swap``), routes re-simulated.

**Decision first.** The best opportunity of an event (the one risk should see first) is found
before the others are sized, by best-first branch and bound (:meth:`Scanner.decide`,
:class:`DecisionFirst`). Every cycle the prune keeps is *screened*: an upper bound on the net
profit any exact pass of it can report, from the constant-product curve of each hop through its
current price with the most liquidity that hop can meet before the cycle's optimum. At the
optimum the hops' marginal rates multiply to 1 and each only falls along its swap, so no hop's
price moves by more than the cycle's marginal-rate product r at zero input; a V3 hop's output
with at most L_max of liquidity over that range is at most the constant-product output with
L_max (its price falls no faster), and the exact integer output is at most the real one, so the
composed curve's optimum bounds the exact gross profit; less the cheapest gas (no tick crossed),
converted as _price converts, it bounds the net. (A range longer than BOUND_WALK_STEPS stops, or
ticks not known, gives no bound: infinity.) A candidate whose bound fails the filters is dropped:
no exact pass of it could pass them. The best bound is then *refined* by the float pre-search,
whose converged point is the real-valued optimum of the cycle (its model is exact in its own
segments, and the profit is concave), so its estimate plus BOUND_* bounds the exact profit too;
and the best refined one is sized exactly. The decision is final when the best bound left is
below its net profit. The others are sized after it and the list sorted as before: every
reported opportunity is still one exact simulation, the same as :meth:`evaluate` gives; only
the order of work changed (tests/scanner/test_decision.py checks the bounds against every
cycle's exact pass and the decision against the best of all cycles, ties included).

Results are sorted by ``ArbitrageOpportunity.order_key``, ``(seq, tx_index, -net_profit_wei,
cycle_key)``: the most profitable of one feed position first (risk approves the first one through
a pool and holds the rest through it), exact ties by cycle key, so a replay of the same events
gives the same list; the search itself is deterministic (no clocks, no dict-order dependence).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from heapq import heapify, heappop, heappush

import attrs

from mevbot.pools.state import PoolState
from mevbot.pricing.errors import MissingTickData, PricingError, SolidityRevert
from mevbot.pricing.full_math import MAX_UINT256
from mevbot.pricing.v2 import V2PoolState, get_amount_out
from mevbot.pricing.v3_walk import SwapWalk
from mevbot.pricing.v3_pool import V3PoolState, estimate_v3_exact_input, quote_v3_exact_input, simulate_v3_swap
from mevbot.scanner.cycles import Cycle, CycleIndex
from mevbot.scanner.opportunity import ArbitrageOpportunity, RouteHop
from mevbot.scanner.search import (
    V2Hop,
    golden_section_search,
    inside_bracket,
    mobius_optimum,
    refine_around,
    v2_chain_optimum,
)

#: Looks up a pool's (speculative) state by address.
StateView = Callable[[str], PoolState | None]

#: A cycle is pruned only when its float marginal-rate product is below 1 - PRUNE_MARGIN.
PRUNE_MARGIN = 1e-9
#: The Newton search stops when its next step is below 2**-NEWTON_TOLERANCE_BITS of the input.
NEWTON_TOLERANCE_BITS = 32
_Q96_FLOAT = float(1 << 96)
_INF = math.inf
#: Float Newton steps before the exact search (Scanner._presearch); it takes two to four.
PRESEARCH_STEPS = 8
#: The pre-search's bound on a cycle's exact gross profit (Scanner._presearch) is its float
#: estimate plus BOUND_RELATIVE of the output, for float error (a few 1e-15 over a 3-hop chain),
#: plus BOUND_GRAINS grains per price segment and hop, for the integer roundings at the stops
#: the walk memoises (one unit of each token in and out per stop), plus BOUND_UNITS wei.
BOUND_RELATIVE = 1e-9
BOUND_GRAINS = 4
BOUND_UNITS = 4
#: The screen's bound (Scanner._chain_bound) walks a V3 pool at most this many stops (initialised
#: ticks, word edges) for the most liquidity on the way; a cycle whose range is longer goes to
#: the pre-search unbounded (a price moved that far is rare, and its bound would be loose).
BOUND_WALK_STEPS = 8
#: Scanner._linear_bound walks a V3 hop at most this many stops to where its marginal rate
#: meets the other hops' (usually the pool an intent moved far, whose walk the pre-search needs
#: too; measured: 48 gives the lowest tail of bench/scanner.py among 8, 48 and 256).
LINEAR_BOUND_WALK_STEPS = 48
_UNSEEN = object()
# How Scanner._size_planned sizes a cycle (Scanner._plan): already sized, Newton, golden section
_SIZED, _NEWTON, _GOLDEN = "sized", "newton", "golden"
_GOLDEN_PLAN = (_GOLDEN,)
def _by_profit_then_key(opp: ArbitrageOpportunity) -> tuple[int, str]:
    return -opp.net_profit_wei, opp.cycle_key


class SizeTooSmall(ArithmeticError):
    """A hop's output rounds to nothing at this trial size: the optimum is above it."""


class SizeRejected(ArithmeticError):
    """A pool would revert at this trial size (e.g. an overflow far beyond its liquidity):
    the size is infeasible, smaller ones may not be, so the search treats it as -infinity."""


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
    pruned: int = 0  # marginal-rate product <= 1: no size can profit (not sized)
    simulations: int = 0  # whole-cycle exact simulations spent sizing
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
            try:
                if isinstance(state, V2PoolState):
                    amount = state.amount_out(amount, zero_for_one)
                else:
                    amount = simulate_v3_swap(state, zero_for_one, amount).amount_out
            except MissingTickData as exc:
                exc.pool = hop.pool.lower()  # which pool lacks the data: only it gets fetched
                raise
            except SolidityRevert as exc:
                raise SizeRejected(f"{hop.pool}: {exc}") from exc
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
                try:
                    result = simulate_v3_swap(state, zero_for_one, amount)
                except MissingTickData as exc:
                    exc.pool = hop.pool.lower()
                    raise
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
    """Finds the profitable cycles through the pools an event changed (see the module doc)."""

    def __init__(self, index: CycleIndex, *, filters: ScanFilters, gas: GasModel | None = None,
                 dex_of: Callable[[str], str] = lambda pool: "", weth: str | None = None) -> None:
        self.index = index
        self.filters = filters
        self.gas = gas or GasModel()
        self.dex_of = dex_of
        self.weth = weth.lower() if weth else None
        self.counters = ScanCounters()
        self.missing: dict[str, MissingTickData] = {}
        # (pool, zero_for_one) -> that pool direction for the last state seen of it (see _hop)
        self._hops: dict[tuple[str, bool], tuple] = {}
        # Every (pool, zero_for_one) of the index numbered, and each cycle's as those numbers:
        # scan's prune then indexes a list rather than hashing a tuple per leg
        self._legs: list[tuple[str, bool]] = []
        numbers: dict[tuple[str, bool], int] = {}
        self._leg_ids_of_cycle: dict[str, tuple[int, ...]] = {}
        for cycle in index.cycles:
            ids = []
            for leg in cycle.legs:
                if leg not in numbers:
                    numbers[leg] = len(self._legs)
                    self._legs.append(leg)
                ids.append(numbers[leg])
            self._leg_ids_of_cycle[cycle.key] = tuple(ids)
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
        """Every cycle through ``changed_pools``, as :meth:`evaluate` would, in one call: the
        opportunities most profitable first (the decision), then by (-net profit, cycle key)."""
        view = _ViewMemo(view).__getitem__  # states do not change during one scan
        plan = self.decide(changed_pools, view, costs, block_number=block_number, seq=seq, tx_index=tx_index,
                           trigger_tx=trigger_tx)
        return self.complete(plan, view, costs, block_number=block_number, seq=seq, tx_index=tx_index,
                             trigger_tx=trigger_tx)

    def decide(self, changed_pools: Iterable[str], view: StateView, costs: CostInputs, *, block_number: int,
               seq: int | None = None, tx_index: int | None = None,
               trigger_tx: str | None = None) -> DecisionFirst:
        """The event's candidates (:meth:`candidates`) with the decision made: the returned
        plan's ``decision`` is the most profitable opportunity of the whole scan, found by
        sizing exactly only the candidates whose bound could still beat the best one sized."""
        plan = DecisionFirst(self.candidates(changed_pools, view, costs))
        while (candidate := plan.next_to_decide()) is not None:
            if candidate[5] is None:
                plan.requeue(self.refine(candidate, view, costs))
            else:
                plan.record(self.size(candidate, view, costs, block_number=block_number, seq=seq,
                                      tx_index=tx_index, trigger_tx=trigger_tx))
        return plan

    def complete(self, plan: DecisionFirst, view: StateView, costs: CostInputs, *, block_number: int,
                 seq: int | None = None, tx_index: int | None = None,
                 trigger_tx: str | None = None) -> list[ArbitrageOpportunity]:
        """Sizes the candidates :meth:`decide` left and returns every opportunity: the decision
        first, then the others by (-net profit, cycle key)."""
        for candidate in plan.undecided():
            plan.add(self.size(candidate, view, costs, block_number=block_number, seq=seq, tx_index=tx_index,
                               trigger_tx=trigger_tx))
        return plan.opportunities()

    def candidates(self, changed_pools: Iterable[str], view: StateView, costs: CostInputs) -> list[tuple]:
        """Every cycle through ``changed_pools`` that the prune keeps and its bound does not rule
        out, as :meth:`candidate` gives it (unordered: :class:`DecisionFirst` orders them)."""
        found = []
        states = view  # each leg's state is looked up once here (seen); scan passes a memo
        hop_cache = self._hops
        legs = self._legs
        leg_ids = self._leg_ids_of_cycle
        seen = [_UNSEEN] * len(legs)  # leg id -> its hop this scan (None: no state)
        threshold = 1.0 - PRUNE_MARGIN
        cycles = self.index.through_any(changed_pools)
        pruned = 0
        for cycle in cycles:
            # _prefilter, inlined: this loop runs for every cycle of every event; the hops'
            # list is built only for a cycle the marginal rate does not prune
            ids = leg_ids[cycle.key]
            rate = 1.0
            for i in ids:
                hop = seen[i]
                if hop is _UNSEEN:
                    leg = legs[i]
                    state = states(leg[0])
                    if state is None:
                        hop = None
                    else:
                        hop = hop_cache.get(leg)
                        if hop is None or hop[0] is not state:
                            hop = hop_cache[leg] = self._hop(leg[0], state, leg[1])
                    seen[i] = hop
                if hop is None:
                    break
                rate *= hop[1]
            else:
                if rate <= threshold:
                    pruned += 1
                    continue
                candidate = self._candidate(cycle, [seen[i] for i in ids], rate, states, costs)
                if candidate is not None:
                    found.append(candidate)
        self.counters.cycles_evaluated += len(cycles)
        self.counters.pruned += pruned
        return found

    def candidate(self, cycle: Cycle, view: StateView, costs: CostInputs) -> tuple | None:
        """One cycle screened for the decision: None when the prune or its profit bound rules
        it out (no exact pass could report it), else a candidate with an upper bound on the net
        profit (in wei of ETH) of whatever its exact pass can report. The scanner module's unit
        of work before the decision. A plain tuple, ``(-bound, cycle key, cycle, hops, marginal
        rate, plan, cost in the start token, its wei per unit)``, so that a heap of them pops the
        best bound first, ties by cycle key; ``plan`` is None until :meth:`refine` sets it."""
        hops = self._prefilter(cycle, view)
        if hops is None:
            return None
        rate = hops.pop()
        return self._candidate(cycle, hops, rate, view, costs)

    def refine(self, candidate: tuple, view: StateView, costs: CostInputs, *, bound: bool = True) -> tuple | None:
        """The candidate with its float pre-search done (its plan, see :meth:`_plan`) and the
        tighter bound that gives, or None when that bound rules it out. ``bound`` False: the
        bound no longer orders anything (after the decision), so no float pass is spent on it."""
        negative_bound, key, cycle, hops, rate, _, cost_in_start, to_wei = candidate
        planned = self._safely(self._plan, cycle, hops, bound)
        if planned is None:
            return None
        gross, plan = planned
        if gross < _INF:
            net = gross - cost_in_start
            filters = self.filters
            if (net < filters.min_profit or net <= 0
                    or (cost_in_start != 0 and gross < filters.min_profit_to_cost * cost_in_start)):
                self.counters.filtered += 1  # no exact size can pass the filters
                return None
            bound = net if to_wei == 1.0 else net * to_wei  # an int stays exact (V2-only cycles)
            if bound < -negative_bound:
                negative_bound = -bound
        return negative_bound, key, cycle, hops, rate, plan, cost_in_start, to_wei

    def size(self, candidate: tuple, view: StateView, costs: CostInputs, *, block_number: int,
             seq: int | None = None, tx_index: int | None = None,
             trigger_tx: str | None = None) -> ArbitrageOpportunity | None:
        """The exact pass of one candidate (refined first if it is not): the same opportunity
        :meth:`evaluate` reports for its cycle, or None (a missing tick word is noted in
        ``missing``, as evaluate does)."""
        if candidate[5] is None:
            candidate = self.refine(candidate, view, costs, bound=False)
            if candidate is None:
                return None
        cycle, hops, rate, plan = candidate[2:6]
        sized = self._safely(self._size_planned, cycle, hops, rate, plan)
        if sized is None:
            return None
        return self._price(cycle, hops, sized, view, costs, block_number, seq, tx_index, trigger_tx)

    def _candidate(self, cycle: Cycle, hops: list[tuple], rate: float, view: StateView,
                   costs: CostInputs) -> tuple | None:
        """:meth:`candidate` after the prune. The bound: each hop as the constant-product curve
        through its current price with the most liquidity it can meet on the way to the optimum
        (V2: its own curve), composed; the module doc ("decision first") says why it holds."""
        gross = self._chain_bound(hops, rate)
        if gross is None:
            return None  # no size profits on the bounding curves: none does on the real ones
        if gross == _INF:  # a hop's range is too long to walk for it: bound the others linearly
            gross = self._linear_bound(hops)
        gas = self.gas
        gas_units = gas.base  # the cheapest the exact pass can cost: no tick crossed
        for hop in hops:
            gas_units += gas.per_v2_hop if hop[5] else gas.per_v3_hop
        cost_wei = gas_units * costs.gas_price_wei + costs.l1_cost_wei
        start = cycle.start_token
        if self.weth is None or start == self.weth:
            cost_in_start, to_wei = cost_wei, 1.0
        else:
            cost_in_start = self._wei_in_start_token(start, cost_wei, view)
            if cost_in_start is None:
                self.counters.unpriced += 1
                return None
            # _price's net_wei is net * cost_wei // cost_in_start, cost_in_start the floor of
            # cost_wei at the pool's price: at most cost_wei / (cost_in_start - 1) per unit
            # for any cost from this one up (and net itself when the two are equal)
            to_wei = max(1.0, cost_wei / (cost_in_start - 1)) * (1 + 1e-9) if cost_in_start >= 2 else _INF
        if gross < _INF:
            net = gross - cost_in_start
            filters = self.filters
            if (net < filters.min_profit or net <= 0
                    or (cost_in_start != 0 and gross < filters.min_profit_to_cost * cost_in_start)):
                self.counters.filtered += 1  # no exact size can pass the filters
                return None
            bound = net * to_wei
        else:
            bound = _INF
        return -bound, cycle.key, cycle, hops, rate, None, cost_in_start, to_wei

    @staticmethod
    def _chain_bound(hops: list[tuple], rate: float) -> float | None:
        """An upper bound on the cycle's gross profit at any size (infinity when the ticks it
        needs are not known), or None when the bound shows that no size profits."""
        a, b, c = 1.0, 1.0, 0.0  # the composed map, out = a*x / (b + c*x), as in _plan
        grain = 1.0
        reach = math.sqrt(rate * (1.0 + BOUND_RELATIVE))  # sqrt of the price factor a hop can move by
        for hop in hops:
            if a > 0 and b / a > grain:
                grain = b / a
            gamma = hop[2]
            if hop[5]:
                r_in, r_out = hop[3], hop[4]
            else:
                walk = hop[15]
                price = hop[16]
                keys = walk.price_key_f
                zero_for_one = hop[6]
                limit = -price / reach if zero_for_one else price * reach  # as a key: increasing
                walked = len(walk.crossed_end)
                if not walked or keys[walked - 1] < limit:
                    if not walk.extend_past(hop[0], limit, BOUND_WALK_STEPS):
                        return _INF  # too far to walk for a bound, or the ticks are not known here
                    walked = len(walk.crossed_end)
                liquidity = hop[17]
                inside = bisect_left(keys, limit, 0, walked)  # the stops short of the limit
                if inside and walk.liquidity_max_f[inside - 1] > liquidity:
                    liquidity = walk.liquidity_max_f[inside - 1]
                if zero_for_one:
                    r_in, r_out = liquidity / price, liquidity * price
                else:
                    r_in, r_out = liquidity * price, liquidity / price
            a, b, c = gamma * r_out * a, r_in * b, r_in * c + gamma * a
        if not (b < a < _INF and 0 < c < _INF):
            return None if a <= b else _INF
        x = (math.sqrt(a * b) - b) / c
        gross = (math.sqrt(a) - math.sqrt(b)) ** 2 / c
        return gross + (BOUND_RELATIVE * (2 * x + gross)
                        + BOUND_GRAINS * (len(hops) + 1) * grain * rate ** len(hops) + BOUND_UNITS)

    @staticmethod
    def _linear_bound(hops: list[tuple]) -> float:
        """An upper bound on the cycle's gross profit at any size when :meth:`_chain_bound` has
        none (infinity when this has none either): one hop, k, on its own curve, every other
        hop on the line through zero with its marginal rate there, the least of these over k.

        Each hop's exact output is at most its marginal rate at zero input times its input (the
        prune's fact), so with nu the product of the rates before k, mu after it, and w hop k's
        input, the profit is at most mu * f_k(w) - w / nu = (lam * f_k(w) - w) / nu, lam = mu *
        nu: at most sup_w (lam * F(w) - w) / nu for the real-valued curve F >= f_k, reached
        where F's marginal rate is 1 / lam. Tried for every V2 hop and the shallowest V3 one
        (any choice of k gives a bound; that one is usually the tightest that needs a walk).
        V2: the closed form. V3: the segment of the walk
        where the marginal rate crosses 1 / lam, whose stops the walk memoises rounded in the
        pool's favour by less than a unit of each amount per step (BOUND_GRAINS units per
        stop), then the constant-product step to that price; a walk that cannot reach it within
        LINEAR_BOUND_WALK_STEPS gives no bound for that k. The rates are floats: mu and nu are
        taken BOUND_RELATIVE larger (the bound grows with both), and BOUND_RELATIVE of every
        amount, virtual reserve included, covers the float arithmetic here. Tight when the
        other hops barely move at the optimum, as for a cycle against one pool a large swap
        has moved far (the case whose range is too long for the chain bound)."""
        best = _INF
        n = len(hops)
        # Every V2 hop (a closed form) and one V3 hop, the shallowest in start-token terms (its
        # current virtual reserve in over the rates before it): the one the optimum moves most
        ks = []
        shallowest, depth = None, _INF
        nu = 1.0
        for k in range(n):
            hop = hops[k]
            if hop[5]:
                ks.append(k)
            elif hop[3] / nu < depth:
                shallowest, depth = k, hop[3] / nu
            nu *= hop[1]
        if shallowest is not None:
            ks.append(shallowest)
        for k in ks:
            hop = hops[k]
            nu = mu = 1.0 + BOUND_RELATIVE
            for i in range(k):
                nu *= hops[i][1]
            for i in range(k + 1, n):
                mu *= hops[i][1]
            lam = mu * nu
            gamma = hop[2]
            if hop[5]:
                a, b = lam * gamma * hop[4], hop[3]
                gain = (math.sqrt(a) - math.sqrt(b)) ** 2 / gamma if a > b else 0.0
                gain += BOUND_RELATIVE * (a + b) / gamma
            else:
                zero_for_one = hop[6]
                target = math.sqrt(gamma * lam)  # the sqrt price (ofz) or its inverse (zfo) at 1 / lam
                if zero_for_one:
                    target = 1.0 / target
                    limit = -target
                else:
                    limit = target
                walk = hop[15]
                keys = walk.price_key_f
                walked = len(walk.crossed_end)
                if not walked or keys[walked - 1] < limit:
                    if not walk.extend_past(hop[0], limit, LINEAR_BOUND_WALK_STEPS):
                        continue
                    walked = len(walk.crossed_end)
                inside = bisect_left(keys, limit, 0, walked)  # the stops short of the target
                if inside:
                    last = inside - 1
                    price, liquidity = walk.price_end_f[last], walk.liquidity_end_f[last]
                    cost, out = walk.cost_end_f[last], walk.out_end_f[last]
                else:
                    price, liquidity, cost, out = hop[16], hop[17], 0.0, 0.0
                if zero_for_one:
                    if target >= price:  # the marginal rate is below 1 / lam already
                        target = price
                    step_in, step_out = liquidity * (1.0 / target - 1.0 / price) / gamma, liquidity * (price - target)
                    reserves = liquidity / target / gamma + lam * liquidity * price
                else:
                    if target <= price:
                        target = price
                    step_in, step_out = liquidity * (target - price) / gamma, liquidity * (1.0 / price - 1.0 / target)
                    reserves = liquidity * target / gamma + lam * liquidity / price
                gain = lam * (out + step_out) - (cost + step_in)
                if gain < 0.0:
                    gain = 0.0
                gain += (BOUND_GRAINS * (inside + 1) * (lam + 1.0)
                         + BOUND_RELATIVE * (lam * (out + step_out) + cost + step_in + reserves))
            gross = gain / nu + BOUND_UNITS
            if gross < best:
                best = gross
        return best

    def evaluate(self, cycle: Cycle, view: StateView, costs: CostInputs, *, block_number: int,
                 seq: int | None = None, tx_index: int | None = None,
                 trigger_tx: str | None = None) -> ArbitrageOpportunity | None:
        """One cycle: prune, size, price, filter (the scanner module's unit of work)."""
        hops = self._prefilter(cycle, view)
        if hops is None:
            return None
        return self._evaluate(cycle, hops, view, costs, block_number, seq, tx_index, trigger_tx)

    def _prefilter(self, cycle: Cycle, view: StateView) -> list | None:
        """The cycle's hops (see :meth:`_hop`) then its marginal rate at zero input, or None
        when a state is unknown or the cycle is pruned."""
        self.counters.cycles_evaluated += 1
        hops = []
        rate = 1.0
        hop_cache = self._hops
        for leg in cycle.legs:
            state = view(leg[0])
            if state is None:
                return None
            hop = hop_cache.get(leg)
            if hop is None or hop[0] is not state:
                hop = hop_cache[leg] = self._hop(leg[0], state, leg[1])
            rate *= hop[1]
            hops.append(hop)
        if rate <= 1.0 - PRUNE_MARGIN:
            self.counters.pruned += 1
            return None
        hops.append(rate)  # last: the cycle's marginal rate at zero input
        return hops

    def _evaluate(self, cycle: Cycle, hops: list[tuple], view: StateView, costs: CostInputs, block_number: int,
                  seq: int | None, tx_index: int | None, trigger_tx: str | None) -> ArbitrageOpportunity | None:
        rate = hops.pop()
        sized = self._safely(self._size, cycle, hops, rate)
        if sized is None:
            return None
        return self._price(cycle, hops, sized, view, costs, block_number, seq, tx_index, trigger_tx)

    def _safely(self, step, *args):
        """``step(*args)`` (a plan or a sizing), or None when the cycle cannot be priced now: a
        missing tick word is counted and noted in ``missing`` (the module fetches it and
        evaluates the cycle again), any other pricing error drops the cycle."""
        try:
            return step(*args)
        except MissingTickData as exc:
            self.counters.missing_data += 1
            self.missing.setdefault(exc.pool, exc)
            return None
        except PricingError:
            return None

    def _price(self, cycle: Cycle, hops: list[tuple], sized: tuple[int, int, int, list], view: StateView,
               costs: CostInputs, block_number: int, seq: int | None, tx_index: int | None,
               trigger_tx: str | None) -> ArbitrageOpportunity | None:
        """A sized cycle's costs, filters and, when it passes them, its opportunity."""
        amount_in, amount_out, evaluations, trace = sized
        # _opportunity, inlined for the hot path (ReferenceScanner calls it): gas from the
        # trace, costs, filters, and the route only for a cycle that passes them
        gas = self.gas
        gas_units = gas.base
        for hop, step in zip(hops, trace):
            if hop[5]:
                gas_units += gas.per_v2_hop
            else:
                gas_units += gas.per_v3_hop + step[4] * gas.per_tick_crossed
        profit = amount_out - amount_in
        gas_price = costs.gas_price_wei
        l2_cost = gas_units * gas_price
        cost_wei = l2_cost + costs.l1_cost_wei
        start = cycle.start_token
        if self.weth is None or start == self.weth:
            cost_in_start = cost_wei
        else:
            cost_in_start = self._wei_in_start_token(start, cost_wei, view)
            if cost_in_start is None:
                self.counters.unpriced += 1
                return None
        net = profit - cost_in_start
        filters = self.filters
        if (net < filters.min_profit or net <= 0
                or (cost_in_start != 0 and profit < filters.min_profit_to_cost * cost_in_start)):
            self.counters.filtered += 1
            return None
        self.counters.profitable += 1
        net_wei = net if cost_in_start == cost_wei else (net * cost_wei // cost_in_start if cost_in_start else 0)
        return ArbitrageOpportunity(cycle.key, start, self._route(cycle, hops, trace), amount_in, amount_out, profit,
                                    gas_units, gas_price, l2_cost, costs.l1_cost_wei, cost_in_start, net, net_wei,
                                    block_number, seq, tx_index, trigger_tx, evaluations)

    # -- per hop ---------------------------------------------------------------------------

    def _hop(self, pool: str, state: PoolState, zero_for_one: bool) -> tuple:
        """One pool direction as the hot loops read it, a plain tuple: ``(state, marginal rate,
        fee factor, r_in, r_out, is_v2, zero_for_one, pool, reserve in, reserve out, dex, fee
        pips, price before, V2 fee numerator, V2 fee denominator, and for V3 the memoised swap walk of
        that direction, sqrt price / 2^96 and liquidity as floats)``.

        The marginal rate at zero input after the fee, and the constant-product reserves the
        pool behaves as near its price, as floats: V2 its reserves, V3 its virtual reserves in
        the current range, L*2^96/sqrtP of token0 and L*sqrtP/2^96 of token1 (zero without
        liquidity). Then V2's exact integer reserves (0 for V3), and what a route hop repeats:
        the dex, the fee in pips and (V3) the squared price before the trade.
        """
        dex = self.dex_of(pool)
        if isinstance(state, V2PoolState):
            r_in, r_out = (state.reserve0, state.reserve1) if zero_for_one else (state.reserve1, state.reserve0)
            gamma = state.fee_numerator / state.fee_denominator
            rate = gamma * r_out / r_in if r_in > 0 else 0.0
            fee = round((state.fee_denominator - state.fee_numerator) * 1_000_000 / state.fee_denominator)
            return (state, rate, gamma, float(r_in), float(r_out), True, zero_for_one, pool, r_in, r_out, dex, fee,
                    0, state.fee_numerator, state.fee_denominator, None, 0.0, 0.0)
        sqrt_price = state.sqrt_price_x96 / _Q96_FLOAT
        gamma = (1_000_000 - state.fee_pips) / 1_000_000
        liquidity = float(state.liquidity)
        if zero_for_one:
            rate, r_in, r_out = gamma * sqrt_price * sqrt_price, liquidity / sqrt_price, liquidity * sqrt_price
        else:
            rate, r_in, r_out = gamma / (sqrt_price * sqrt_price), liquidity * sqrt_price, liquidity / sqrt_price
        walk = state._walks.get(zero_for_one)
        if walk is None:
            walk = state._walks[zero_for_one] = SwapWalk(zero_for_one)
        return (state, rate, gamma, r_in, r_out, False, zero_for_one, pool, 0, 0, dex, state.fee_pips,
                state.sqrt_price_x96 * state.sqrt_price_x96, 0, 0, walk, sqrt_price, liquidity)

    # -- sizing ----------------------------------------------------------------------------

    def _size(self, cycle: Cycle, hops: list[tuple], rate: float) -> tuple[int, int, int, list] | None:
        """``(amount_in, amount_out, simulations, trace)`` of the best size found, or None."""
        planned = self._plan(cycle, hops)
        if planned is None:
            return None
        return self._size_planned(cycle, hops, rate, planned[1])

    def _plan(self, cycle: Cycle, hops: list[tuple], bound: bool = False) -> tuple[float, tuple] | None:
        """``(bound, plan)``: an upper bound on the gross profit of any exact size of the cycle
        (infinity when none is known), and how :meth:`_size_planned` sizes it exactly: ``(SIZED,
        sized)`` for a V2-only cycle (its closed form, simulated: then the bound is exact),
        ``(NEWTON, x, basis)`` from the float pre-search's point, or ``(GOLDEN,)``. None when no
        size can profit (V2 closed form). ``bound``: spend a float pass more where that makes the
        bound finite (see :meth:`_presearch`)."""
        max_input = self.filters.max_input
        for hop in hops:
            if not hop[5]:
                break
        else:
            # v2_chain_optimum on the hops' integers, inlined (its V2Hop objects cost more than
            # the arithmetic): out = a*x / (b + c*x), optimum (sqrt(a*b) - b) / c
            a, b, c = 1, 1, 0
            for hop in hops:
                n, d = hop[13], hop[14]
                a, b, c = n * hop[9] * a, d * hop[8] * b, d * hop[8] * c + n * a
            if c == 0 or a <= b:
                return None
            guess = min(max(0, (math.isqrt(a * b) - b) // c), max_input)
            if guess <= 0:
                return None
            # The closed form is the exact real optimum; the integer rounding around it is
            # noise below one grain, which the reference's +-4 wei window does not resolve for
            # any token coarser than wei either: one simulation gives the exact amounts.
            sized = self._best_of(cycle, hops, (guess,))
            if sized is None:
                return None
            return sized[1] - sized[0], (_SIZED, sized)
        a, b, c = 1.0, 1.0, 0.0
        for hop in hops:
            gamma, r_in, r_out = hop[2], hop[3], hop[4]
            a, b, c = gamma * r_out * a, r_in * b, r_in * c + gamma * a
        start = mobius_optimum(a, b, c)
        if start is None:  # a V3 hop without liquidity at its price: no local model
            return _INF, _GOLDEN_PLAN
        x, basis, gross = self._presearch(hops, min(max(1.0, start), float(max_input)), bound)
        return gross, (_NEWTON, min(max(1, int(x)), max_input), basis)

    def _size_planned(self, cycle: Cycle, hops: list[tuple], rate: float,
                      plan: tuple) -> tuple[int, int, int, list] | None:
        """The exact sizing :meth:`_plan` prepared (what :meth:`_size` returns)."""
        kind = plan[0]
        if kind is _NEWTON:
            return self._newton(cycle, hops, rate, plan[1], plan[2])
        if kind is _SIZED:
            return plan[1]
        return self._golden_section(cycle, hops)

    def _presearch(self, hops: list[tuple], x: float, bound: bool = False) -> tuple[float, list[int], float]:
        """Newton steps as :meth:`_newton` takes them, from ``x``, on float estimates of the
        hops (estimate_v3_exact_input: the same price segments, real-valued within them)
        instead of exact simulations: ``(x, the segments of the model that chose x)``, where
        the exact search then starts. A float pass costs about half an exact one, and the
        exact search usually confirms its first point (it ends in those segments): one exact
        simulation where the steps used to take two to four. It stops where the exact search
        would (its point is in its model's segments, or the step is below a grain), at a step
        out of range, or where an estimate has no answer (the exact search takes over from the
        last point with no model, i.e. segments ``[]``). Nothing it computes is reported.

        The third value is an upper bound on the gross profit (output - input) of every exact
        simulation of the cycle, which :meth:`candidates` orders the exact passes by (see the
        module doc, "decision first"), or infinity when the pass did not converge. Where it
        stops on a step below a grain, ``bound`` asks for one more float pass, at that step's
        end, to prove the bound (the point returned stays the same).
        """
        estimate = estimate_v3_exact_input
        sqrt = math.sqrt
        high = float(self.filters.max_input)
        basis = [0] * len(hops)
        kept = None  # (x, basis, no bound) once a step below a grain ended the search proper
        for _ in range(PRESEARCH_STEPS):
            amount = x
            segments = []
            a, b, c = 1.0, 1.0, 0.0
            grain = 1.0
            for hop in hops:
                if a > 0 and b / a > grain:
                    grain = b / a
                gamma = hop[2]
                if hop[5]:
                    r_in_f, r_out_f = hop[3], hop[4]
                    moved = r_in_f + gamma * amount
                    out = r_out_f * gamma * amount / moved
                    r_in_f, r_out_f = moved, r_out_f * r_in_f / moved
                    segments.append(0)
                else:
                    # estimate_v3_exact_input's usual case, inlined: the walk covers the amount
                    walk = hop[15]
                    cost_end = walk.cost_end_f
                    walked = len(walk.crossed_end)
                    if not walked or cost_end[walked - 1] <= amount:
                        estimated = estimate(hop[0], hop[6], amount)  # extends the walk
                        if estimated is None:
                            return kept or (x, [], _INF)
                        out, price, liquidity_f, segment = estimated
                    else:
                        segment = bisect_right(cost_end, amount, 0, walked)
                        if segment:
                            last = segment - 1
                            remaining = amount - cost_end[last]
                            out = walk.out_end_f[last]
                            price = walk.price_end_f[last]
                            liquidity_f = walk.liquidity_end_f[last]
                        else:
                            remaining, out, price, liquidity_f = amount, 0.0, hop[16], hop[17]
                        less_fee = remaining * gamma
                        if hop[6]:
                            price_next = liquidity_f * price / (liquidity_f + less_fee * price)
                            out += less_fee * price * price_next
                        else:
                            price_next = price + less_fee / liquidity_f
                            out += less_fee / (price * price_next)
                        price = price_next
                    segments.append(segment)
                    if hop[6]:
                        r_in_f, r_out_f = liquidity_f / price, liquidity_f * price
                    else:
                        r_in_f, r_out_f = liquidity_f * price, liquidity_f / price
                if not out > 0:
                    return kept or (x, [], _INF)
                amount = out
                a, b, c = gamma * r_out_f * a, r_in_f * b, r_in_f * c + gamma * a
            if segments == basis:
                # The model's optimum in its own segments: the exact search checks it, and it
                # bounds every exact profit of the cycle (BOUND_* and the module doc)
                bound = (amount - x + BOUND_RELATIVE * amount
                         + BOUND_GRAINS * (sum(segments) + len(hops) + 1) * grain + BOUND_UNITS)
                return (x, basis, bound) if kept is None else (kept[0], kept[1], bound)
            if kept is not None:
                return kept
            if not (0 < a < _INF and 0 < b < _INF and 0 < c < _INF):
                return x, [], _INF
            step = (sqrt(a) * sqrt(b) - b) / c
            if abs(step) <= max(grain, x / (1 << NEWTON_TOLERANCE_BITS)):
                if not bound:
                    break  # x is the optimum to a grain: the exact search builds the model there
                # x is the optimum to a grain: the exact search builds the model there. Only
                # for the bound, one more pass at the optimum of the model built here: if it
                # ends in this model's segments, it is the optimum (a float one, not kept)
                kept = (x, basis, _INF)
                target = x + step
                if not 1.0 <= target <= high:
                    return kept
                basis = segments
                x = target
                continue
            target = x + step
            if not 1.0 <= target <= high:  # not NaN either
                return kept or (x, [], _INF)
            basis = segments
            x = target
        return kept or (x, basis, _INF)  # not proven the model's optimum: no bound

    def _newton(self, cycle: Cycle, hops: list[tuple], rate: float, x: int,
                basis: list[int] | None = None) -> tuple[int, int, int, list] | None:
        """Newton steps from ``x``, the optimum of the cycle's constant-product model at the
        current prices (each V3 hop in price segment 0, see quote_v3_exact_input).

        A model built at a simulated point is the cycle's exact (real-valued) output for every
        input that keeps each hop in the same price segment, so when the model's optimum,
        simulated, ends in the segments the model was built on, it is the optimum: the search
        stops there. Otherwise the simulated end states give the next model. A step leaving
        the bracket is replaced by regula falsi on the marginal rate (known at both ends) or,
        without it, by bisection.

        Each pass simulates the cycle exactly (:meth:`_simulate`, inlined) and builds the next
        model from the hops' end states only when the point is not confirmed: after the float
        pre-search (:meth:`_presearch`) the first exact pass usually is the last.
        """
        max_input = self.filters.max_input
        budget = self.filters.max_evaluations
        quote = quote_v3_exact_input
        sqrt = math.sqrt
        # The optimum lies in (low, high]; slope (marginal rate - 1) at low, at high if known.
        low, high = 0, max_input + 1
        slope_low, slope_high = rate - 1.0, None
        if basis is None:
            basis = [0] * len(hops)  # the segments the current model is exact in ([] when none)
        best = None
        best_profit = 0
        evaluations = 0
        while evaluations < budget:
            evaluations += 1
            amount = x
            trace = []
            segments = []
            try:
                for hop in hops:
                    if hop[5]:
                        # UniswapV2Library.getAmountOut, inlined; the library for its reverts
                        r_in, r_out = hop[8], hop[9]
                        with_fee = amount * hop[13]
                        numerator = with_fee * r_out
                        denominator = r_in * hop[14] + with_fee
                        if r_in <= 0 or r_out <= 0 or numerator > MAX_UINT256 or denominator > MAX_UINT256:
                            try:
                                get_amount_out(amount, r_in, r_out, hop[13], hop[14])
                            except SolidityRevert as exc:
                                raise SizeRejected(f"{hop[7]}: {exc}") from exc
                        out = numerator // denominator
                        trace.append((amount, out, 0, 0, 0, 0))
                        segments.append(0)
                    else:
                        try:
                            out, sqrt_price, liquidity, crossed, segment = quote(hop[0], hop[6], amount)
                        except MissingTickData as exc:
                            exc.pool = hop[7]  # which pool lacks the data: only it gets fetched
                            raise
                        except SolidityRevert as exc:
                            raise SizeRejected(f"{hop[7]}: {exc}") from exc
                        trace.append((amount, out, sqrt_price, liquidity, crossed, segment))
                        segments.append(segment)
                    if out <= 0:
                        raise SizeTooSmall("a hop gives nothing")
                    amount = out
            except SizeTooSmall:  # the output rounds to nothing: the optimum is above
                low = x
                x = inside_bracket(low, high, slope_low, slope_high)
                if x is None:
                    break
                continue
            except ArithmeticError:  # a size the pools cannot take: the optimum is below
                high, slope_high = x, None
                x = inside_bracket(low, high, slope_low, slope_high)
                if x is None:
                    break
                continue
            if best is None or amount - x > best_profit:
                best = (x, amount, trace)
                best_profit = amount - x
            if segments == basis and -1 not in segments:
                break  # the model's optimum, in the model's own segments: the optimum
            # The model at x: each hop's end state, as a constant-product map from there
            a, b, c = 1.0, 1.0, 0.0
            grain = 1.0  # input that moves the coarsest intermediate output by one unit
            for hop, step in zip(hops, trace):
                if a > 0 and b / a > grain:  # d(this hop's input)/dx = a/b so far
                    grain = b / a
                gamma = hop[2]
                if hop[5]:  # V2 after taking step[0] in: the same hyperbola, shifted
                    r_in_f = hop[3]
                    moved = r_in_f + gamma * step[0]
                    r_in_f, r_out_f = moved, hop[4] * r_in_f / moved
                else:  # V3 at its end price and liquidity: that segment's virtual reserves
                    liquidity_f = float(step[3])
                    sqrt_price_f = step[2] / _Q96_FLOAT
                    if hop[6]:
                        r_in_f, r_out_f = liquidity_f / sqrt_price_f, liquidity_f * sqrt_price_f
                    else:
                        r_in_f, r_out_f = liquidity_f * sqrt_price_f, liquidity_f / sqrt_price_f
                a, b, c = gamma * r_out_f * a, r_in_f * b, r_in_f * c + gamma * a
            basis = segments
            slope = a / b - 1.0 if b > 0 else -1.0  # the cycle's marginal rate at x, minus 1
            if slope > 0:
                low, slope_low = x, slope
                if x >= max_input:
                    break
            else:
                high, slope_high = x, slope
            # mobius_optimum(a, b, c, signed=True), inlined
            if 0 < a < _INF and 0 < b < _INF and 0 < c < _INF:
                step = (sqrt(a) * sqrt(b) - b) / c
                if step != step or step in (_INF, -_INF):
                    step = None
            else:
                step = None
            # Each hop's integer output moves the end states the model is built on by up to one
            # unit of its token, so the optimum is known to about a grain of input (one unit of
            # WBTC is ~1e11 wei): steps below that (or 2^-32 of the input) only chase rounding.
            if step is not None and abs(step) <= max(grain, x / (1 << NEWTON_TOLERANCE_BITS)):
                break
            target = None if step is None else int(x + step)
            if target is None or not low < target < high:
                target = inside_bracket(low, high, slope_low, slope_high)
                basis = []  # not the model's point: it proves nothing
                if target is None:
                    break
            if target == x:
                break
            x = target
        self.counters.simulations += evaluations
        if best is None or best[1] <= best[0]:
            return None
        return best[0], best[1], evaluations, best[2]

    def _best_of(self, cycle: Cycle, hops: list[tuple], sizes: Iterable[int]) -> tuple[int, int, int, list] | None:
        """The most profitable of ``sizes`` on the exact simulator (first one on ties)."""
        best = None
        evaluations = 0
        for x in sizes:
            evaluations += 1
            try:
                out, trace = self._simulate(cycle, hops, x)
            except ArithmeticError:
                continue
            if best is None or out - x > best[1] - best[0]:
                best = (x, out, trace)
        self.counters.simulations += evaluations
        if best is None or best[1] <= best[0]:
            return None
        return best[0], best[1], evaluations, best[2]

    def _golden_section(self, cycle: Cycle, hops: list[tuple]) -> tuple[int, int, int, list] | None:
        result = golden_section_search(lambda x: self._simulate(cycle, hops, x)[0], 1, self.filters.max_input,
                                       max_evaluations=self.filters.max_evaluations)
        self.counters.simulations += result.evaluations
        if result.profit <= 0:
            return None
        out, trace = self._simulate(cycle, hops, result.amount_in)
        return result.amount_in, out, result.evaluations, trace

    def _simulate(self, cycle: Cycle, hops: list[tuple], amount_in: int) -> tuple[int, list]:
        """Exact output of the cycle for ``amount_in``, and per hop ``(in, out, sqrt price
        after, liquidity after, ticks crossed, price segment)`` (the last four zero for V2)."""
        amount = amount_in
        trace = []
        for hop in hops:
            state = hop[0]
            if hop[5]:
                # UniswapV2Library.getAmountOut, inlined; the library for its reverts
                r_in, r_out = hop[8], hop[9]
                with_fee = amount * state.fee_numerator
                numerator = with_fee * r_out
                denominator = r_in * state.fee_denominator + with_fee
                if r_in <= 0 or r_out <= 0 or numerator > MAX_UINT256 or denominator > MAX_UINT256:
                    try:
                        get_amount_out(amount, r_in, r_out, state.fee_numerator, state.fee_denominator)
                    except SolidityRevert as exc:
                        raise SizeRejected(f"{hop[7]}: {exc}") from exc
                out = numerator // denominator
                trace.append((amount, out, 0, 0, 0, 0))
            else:
                try:
                    out, sqrt_price, liquidity, crossed, segment = quote_v3_exact_input(state, hop[6], amount)
                except MissingTickData as exc:
                    exc.pool = hop[7]  # which pool lacks the data: only it gets fetched
                    raise
                except SolidityRevert as exc:
                    raise SizeRejected(f"{hop[7]}: {exc}") from exc
                trace.append((amount, out, sqrt_price, liquidity, crossed, segment))
            if out <= 0:
                raise SizeTooSmall("a hop gives nothing")
            amount = out
        return amount, trace

    def _route(self, cycle: Cycle, hops: list[tuple], trace: list) -> tuple[RouteHop, ...]:
        """The route of a simulated size, from its trace (the same numbers as CycleSimulation.route)."""
        route = []
        for hop, leg, step in zip(hops, cycle.hops, trace):
            amount, out = step[0], step[1]
            if hop[5]:
                r_in, r_out = hop[8], hop[9]
                impact = 10_000 - (r_out - out) * r_in * 10_000 // (r_out * (r_in + amount))
                route.append(RouteHop(leg.pool, hop[10], "v2", leg.token_in, leg.token_out, hop[11], amount, out, 0,
                                      impact))
            else:
                before, after = hop[12], step[2] * step[2]
                impact = 10_000 - after * 10_000 // before if after < before else 10_000 - before * 10_000 // after
                route.append(RouteHop(leg.pool, hop[10], "v3", leg.token_in, leg.token_out, hop[11], amount, out,
                                      step[4], impact))
        return tuple(route)

    # -- costs and filters -----------------------------------------------------------------

    def _opportunity(self, cycle: Cycle, amount_in: int, amount_out: int, evaluations: int, gas_units: int,
                     route: Callable[[], tuple[RouteHop, ...]], view: StateView, costs: CostInputs, *,
                     block_number: int, seq: int | None, tx_index: int | None,
                     trigger_tx: str | None) -> ArbitrageOpportunity | None:
        profit = amount_out - amount_in
        l2_cost = gas_units * costs.gas_price_wei
        cost_wei = l2_cost + costs.l1_cost_wei
        cost_in_start = self._wei_in_start_token(cycle.start_token, cost_wei, view)
        if cost_in_start is None:
            self.counters.unpriced += 1
            return None
        net = profit - cost_in_start
        ratio_ok = cost_in_start == 0 or profit >= self.filters.min_profit_to_cost * cost_in_start
        if net < self.filters.min_profit or not ratio_ok or net <= 0:
            self.counters.filtered += 1
            return None
        self.counters.profitable += 1
        net_wei = net if cost_in_start == cost_wei else (net * cost_wei // cost_in_start if cost_in_start else 0)
        # positional, in field order: 0.4-0.7 us against 2.3-3.1 us with keywords (measured)
        return ArbitrageOpportunity(cycle.key, cycle.start_token, route(), amount_in, amount_out, profit, gas_units,
                                    costs.gas_price_wei, l2_cost, costs.l1_cost_wei, cost_in_start, net, net_wei,
                                    block_number, seq, tx_index, trigger_tx, evaluations)

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


class DecisionFirst:
    """One event's candidates (:meth:`Scanner.candidates`), worked decision first.

    Best-first branch and bound. The candidates wait in a heap by bound (ties by cycle key).
    ``next_to_decide`` pops the best; the caller refines it (:meth:`Scanner.refine`: the float
    pre-search and its tighter bound) and ``requeue``s it, or, once refined, sizes it exactly
    (:meth:`Scanner.size`) and ``record``s the result. The decision is the best opportunity
    sized so far, ordered as the scan's list is, by (-net profit in wei of ETH, cycle key); it
    is final when the best bound left is below its net profit, since no exact pass of any
    candidate left can then beat it (``next_to_decide`` returns None). The rest are sized
    after, in any order (``undecided``, ``add``): ``opportunities`` sorts them, so the list is
    the same whatever the order of work was. Pure bookkeeping: :meth:`Scanner.decide` and the
    scanner module drive it.

    With ``eligible``, only an opportunity it accepts can be the decision (the module passes
    the risk manager's per-hop price-impact limit, which needs no state): a more profitable one
    it refuses is found and kept for the rest, and the search goes on until no bound left can
    beat the best eligible one.
    """

    __slots__ = ("heap", "exact_passes", "found", "decision", "eligible")

    def __init__(self, candidates: list[tuple],
                 eligible: Callable[[ArbitrageOpportunity], bool] | None = None) -> None:
        heapify(candidates)  # (-bound, cycle key, ...): keys are unique, nothing further is compared
        self.heap = candidates
        self.exact_passes = 0  # before the decision
        self.found: list[ArbitrageOpportunity] = []
        self.decision: ArbitrageOpportunity | None = None
        self.eligible = eligible

    def next_to_decide(self) -> tuple | None:
        """The candidate to refine or size next before the decision is final (taken off the
        heap), or None once it is."""
        heap = self.heap
        if not heap:
            return None
        best = self.decision
        if best is not None and -heap[0][0] < best.net_profit_wei:
            return None
        return heappop(heap)

    def requeue(self, candidate: tuple | None) -> None:
        """A refined candidate (:meth:`Scanner.refine`; None: ruled out) back on the heap."""
        if candidate is not None:
            heappush(self.heap, candidate)

    def record(self, opportunity: ArbitrageOpportunity | None) -> None:
        """The exact pass of the refined candidate ``next_to_decide`` returned gave ``opportunity``."""
        self.exact_passes += 1
        if opportunity is not None:
            self.found.append(opportunity)
            if self.eligible is not None and not self.eligible(opportunity):
                return
            best = self.decision
            if (best is None or opportunity.net_profit_wei > best.net_profit_wei
                    or (opportunity.net_profit_wei == best.net_profit_wei and opportunity.cycle_key < best.cycle_key)):
                self.decision = opportunity

    def undecided(self) -> list[tuple]:
        """The candidates the decision did not need sized, best bound first (refined or not)."""
        heap, self.heap = self.heap, []
        heap.sort()
        return heap

    def add(self, opportunity: ArbitrageOpportunity | None) -> None:
        """The exact pass of one of ``undecided`` gave ``opportunity`` (never a better one)."""
        if opportunity is not None:
            self.found.append(opportunity)

    def opportunities(self) -> list[ArbitrageOpportunity]:
        """All found: the decision first, then the others by (-net profit, cycle key). One
        scan has one feed position, so without ``eligible`` this is
        ArbitrageOpportunity.order_key's order (the decision is the most profitable)."""
        found = self.found
        found.sort(key=_by_profit_then_key)
        decision = self.decision
        if decision is not None and found[0] is not decision:
            found.remove(decision)
            found.insert(0, decision)
        return found

    def rest(self) -> list[ArbitrageOpportunity]:
        """``opportunities`` without the decision."""
        found = self.opportunities()
        return found[1:] if found and found[0] is self.decision else found


class ReferenceScanner(Scanner):
    """The unoptimised search, kept to check :class:`Scanner` against: every cycle is sized (no
    prune), V3 cycles by golden-section search over ``[1, max_input]`` on
    :class:`CycleSimulation` (``simulate_v3_swap``, not the quote the scanner uses), and the
    route is simulated again at the chosen size."""

    def scan(self, changed_pools: Iterable[str], view: StateView, costs: CostInputs, *, block_number: int,
             seq: int | None = None, tx_index: int | None = None,
             trigger_tx: str | None = None) -> list[ArbitrageOpportunity]:
        found = []
        for cycle in self.index.through_any(changed_pools):
            opportunity = self.evaluate(cycle, view, costs, block_number=block_number, seq=seq, tx_index=tx_index,
                                        trigger_tx=trigger_tx)
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
            self.counters.simulations += best.evaluations
            if best.profit <= 0:
                return None
            route = sim.route(best.amount_in, self.dex_of)
        except MissingTickData as exc:
            self.counters.missing_data += 1
            self.missing.setdefault(exc.pool, exc)
            return None
        except PricingError:
            return None
        return self._opportunity(cycle, best.amount_in, best.amount_out, best.evaluations, self.gas.estimate(route),
                                 lambda: route, view, costs, block_number=block_number, seq=seq, tx_index=tx_index,
                                 trigger_tx=trigger_tx)


class _ViewMemo(dict):
    """A state view answered once per pool for the length of one scan."""

    def __init__(self, view: StateView) -> None:
        super().__init__()
        self._view = view

    def __missing__(self, pool: str) -> PoolState | None:
        state = self[pool] = self._view(pool)
        return state
