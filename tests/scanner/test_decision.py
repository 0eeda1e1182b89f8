"""Decision first: the scan's first opportunity, found by branch and bound, is the exact best.

Scanner.decide sizes exactly only the candidates whose profit bound could still beat the best
opportunity sized so far. That is right only if every bound holds: no exact pass of a cycle
reports more net profit than its bound (the screen's and the pre-search's). These tests check
the bounds against the exact passes of every cycle, the decision against the best of all
cycles evaluated one by one (ties and near-ties included), that the complete list is what the
scanner reported before (nothing lost, same order), and that the scanner module publishes the
decision before it sizes the rest, and each shard decides over its own cycles.
"""

from __future__ import annotations

import logging
import math
import random
import types

import attrs
import pytest

from mevbot.deploy.shard import shard_index
from mevbot.config import Config
from mevbot.execution.settings import ExecutionSettings
from mevbot.pools.messages import PoolStateChange, PoolStateEntry
from mevbot.pricing.tick_math import get_tick_at_sqrt_ratio
from mevbot.pricing.v2 import V2PoolState, simulate_v2_swap
from mevbot.pricing.v3_pool import apply_v3_swap, simulate_v3_swap
from mevbot.replay.replayer import SequentialBus
from mevbot.scanner.cycles import build_cycle_index
from mevbot.scanner.engine import CostInputs, DecisionFirst, ScanFilters, Scanner, _ViewMemo
from mevbot.scanner.module import ScannerModule
from mevbot.scanner.opportunity import TOPIC_OPPORTUNITY
from mevbot.scanner.settings import ScannerSettings
from tests.scanner.markets import MarketPool, random_market

FILTERS = ScanFilters(min_profit=10**12, min_profit_to_cost=1.2, max_input=10**21, max_evaluations=64)
NO_FILTERS = ScanFilters(min_profit=0, min_profit_to_cost=0, max_input=10**21, max_evaluations=64)
COSTS = CostInputs(gas_price_wei=2 * 10**7, l1_cost_wei=2000 * 10**7)


def scanner_for(market, filters=FILTERS, index=None):
    index = index or build_cycle_index(market.pools, start_tokens=[market.weth])
    dexes = {p.address: p.dex for p in market.pools}
    return Scanner(index, filters=filters, weth=market.weth, dex_of=lambda p: dexes.get(p.lower(), ""))


def best_of(opportunities):
    return min(opportunities, key=lambda o: (-o.net_profit_wei, o.cycle_key)) if opportunities else None


def one_by_one(scanner, market, pools):
    found = [scanner.evaluate(c, market.view, COSTS, block_number=1) for c in scanner.index.through_any(pools)]
    return sorted((o for o in found if o is not None), key=lambda o: (-o.net_profit_wei, o.cycle_key))


def check_bounds(scanner, market, pools) -> int:
    """Every reported cycle's screen and refined bounds hold; the number of bounds checked."""
    view = _ViewMemo(market.view).__getitem__
    exact = {o.cycle_key: o for o in one_by_one(scanner, market, pools)}
    candidates = {c[1]: c for c in scanner.candidates(pools, view, COSTS)}
    assert exact.keys() <= candidates.keys(), "a reported cycle was ruled out by its bound"
    checked = 0
    for key, opp in exact.items():
        screened = candidates[key]
        refined = scanner.refine(screened, view, COSTS)
        assert refined is not None, key
        for candidate in (screened, refined):
            assert -candidate[0] >= opp.net_profit_wei, (key, -candidate[0], opp.net_profit_wei)
            checked += -candidate[0] < math.inf
        assert scanner.size(refined, view, COSTS, block_number=1) == opp
    return checked


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("filters", [FILTERS, NO_FILTERS], ids=["bot filters", "no filters"])
def test_every_bound_holds_and_the_decision_is_the_exact_best_of_all_cycles(seed, filters):
    market = random_market(random.Random(300 + seed))
    scanner = scanner_for(market, filters)
    pools = [p.address for p in market.pools]
    assert check_bounds(scanner, market, pools) > 0
    expected = one_by_one(scanner, market, pools)
    assert expected
    plan = scanner.decide(pools, _ViewMemo(market.view).__getitem__, COSTS, block_number=1)
    assert plan.decision == expected[0]
    assert plan.exact_passes <= len(expected)
    # the rest, sized after the decision: exactly what evaluating every cycle gives, in order
    assert scanner.complete(plan, market.view, COSTS, block_number=1) == expected


@pytest.mark.parametrize("seed", range(6))
def test_the_decision_on_one_moved_pool_at_a_time_is_the_best_of_its_cycles(seed):
    """As the bot scans: one pool moves (a price-moving swap), only its cycles are evaluated."""
    rng = random.Random(400 + seed)
    market = random_market(rng, skew=0.0005)
    scanner = scanner_for(market)
    decided = 0
    for _ in range(60):
        pool = rng.choice(market.pools)
        state = market.states[pool.address]
        factor = 1 + rng.choice([-1, 1]) * 10 ** rng.uniform(-2.5, -0.7)
        if isinstance(state, V2PoolState):
            moved = V2PoolState(state.reserve0, int(state.reserve1 * factor))
        else:
            sqrt_price = int(state.sqrt_price_x96 * math.sqrt(factor))
            moved = attrs.evolve(state, sqrt_price_x96=sqrt_price, tick=get_tick_at_sqrt_ratio(sqrt_price))
            if moved.tick != state.tick:  # stay in range: the liquidity would change with the tick
                continue
        market.states[pool.address] = moved
        expected = one_by_one(scanner, market, [pool.address])
        check_bounds(scanner, market, [pool.address])
        found = scanner.scan([pool.address], market.view, COSTS, block_number=1)
        assert found == expected
        decided += bool(found)
        market.states[pool.address] = state
    assert decided >= 10


def duplicated_market(seed: int, nudge: int):
    """A market in which every pool has a twin at another address: its state, with token1's
    reserve moved by ``nudge`` units (V2) or its price by ``nudge`` (V3, sqrt price in Q96):
    ties (``nudge`` 0) and near-ties between the cycles through twins."""
    market = random_market(random.Random(seed))
    pools, states = list(market.pools), dict(market.states)
    for pool in market.pools:
        twin = MarketPool("0x" + random.Random(pool.address).randbytes(20).hex(), pool.token0, pool.token1, pool.dex)
        state = market.states[pool.address]
        if isinstance(state, V2PoolState):
            states[twin.address] = V2PoolState(state.reserve0, state.reserve1 + nudge)
        else:
            states[twin.address] = attrs.evolve(state, sqrt_price_x96=state.sqrt_price_x96 + nudge)
        pools.append(twin)
    return attrs.evolve(market, pools=tuple(pools), states=states)


@pytest.mark.parametrize("nudge", [0, 1, 10**6])
@pytest.mark.parametrize("seed", range(3))
def test_ties_and_near_ties_are_decided_as_the_complete_list_orders_them(seed, nudge):
    market = duplicated_market(500 + seed, nudge)
    scanner = scanner_for(market)
    pools = [p.address for p in market.pools]
    expected = one_by_one(scanner, market, pools)
    assert len(expected) >= 4
    profits = [o.net_profit_wei for o in expected]
    if nudge == 0:
        assert len(set(profits)) < len(profits)  # real ties: the cycle key decides
    plan = scanner.decide(pools, _ViewMemo(market.view).__getitem__, COSTS, block_number=1)
    assert plan.decision == expected[0]
    assert scanner.complete(plan, market.view, COSTS, block_number=1) == expected


def test_decision_first_bookkeeping_stops_at_the_first_bound_below_the_best():
    """DecisionFirst on hand-made candidates: refine the unrefined, size the refined, stop
    when the best bound left is below the best net profit; ties in bound go by cycle key."""
    opp = lambda key, net: types.SimpleNamespace(net_profit_wei=net, cycle_key=key)
    candidates = [(-100, "a", None, None, None, "plan", 0, 1.0), (-90, "b", None, None, None, None, 0, 1.0),
                  (-100, "c", None, None, None, "plan", 0, 1.0), (-50, "d", None, None, None, "plan", 0, 1.0)]
    plan = DecisionFirst(candidates)
    assert plan.next_to_decide()[1] == "a"
    plan.record(opp("a", 80))
    assert plan.next_to_decide()[1] == "c"  # bound 100 >= 80
    plan.record(opp("c", 85))
    taken = plan.next_to_decide()
    assert taken[1] == "b" and taken[5] is None  # bound 90 >= 85: refine it
    plan.requeue(taken[:5] + ("plan",) + taken[6:])
    assert plan.next_to_decide()[1] == "b"
    plan.record(opp("b", 85))  # a tie with c: the smaller key wins
    assert plan.decision.cycle_key == "b"
    assert plan.next_to_decide() is None  # d's bound 50 < 85
    assert [c[1] for c in plan.undecided()] == ["d"]
    plan.add(opp("d", 40))
    assert [o.cycle_key for o in plan.opportunities()] == ["b", "c", "a", "d"]
    assert [o.cycle_key for o in plan.rest()] == ["c", "a", "d"]


@pytest.mark.parametrize("shards", [2, 3])
def test_each_shard_decides_over_its_own_cycles(shards):
    market = random_market(random.Random(600 + shards))
    index = build_cycle_index(market.pools, start_tokens=[market.weth])
    pools = [p.address for p in market.pools]
    everything = one_by_one(scanner_for(market, index=index), market, pools)
    decisions = []
    for shard in range(shards):
        scanner = scanner_for(market, index=shard_index(index, shard, shards))
        mine = one_by_one(scanner, market, pools)
        plan = scanner.decide(pools, _ViewMemo(market.view).__getitem__, COSTS, block_number=1)
        assert plan.decision == (mine[0] if mine else None)
        decisions.append(plan.decision)
    assert best_of([d for d in decisions if d is not None]) == everything[0]


async def module_with_snapshot(module: ScannerModule, market, bus):
    """The context the scanner module's handlers take, after ``market``'s start-up snapshot."""
    ctx = types.SimpleNamespace(config=ScannerSettings(), full_config=Config(),
                                bus=bus, log=logging.getLogger("test.scanner"))
    snapshot = PoolStateChange(tuple(PoolStateEntry.of(a, s) for a, s in market.states.items()), 5, seq=None,
                               tx_index=None, trigger_tx=None, cause="snapshot")
    await module._on_change(ctx, None, snapshot, 1)
    return ctx


async def test_the_module_publishes_the_decision_before_it_sizes_the_rest():
    market = random_market(random.Random(700))
    module = ScannerModule()
    module.scanner = scanner_for(market)
    module.base_fee_wei = 10**7
    bus, events = SequentialBus(), []

    async def collect(opp, trace):
        events.append(("published", opp))

    bus.route(TOPIC_OPPORTUNITY, collect)
    sized = module.scanner.size

    def size(candidate, *args, **kwargs):
        events.append(("sized", candidate[1]))
        return sized(candidate, *args, **kwargs)

    module.scanner.size = size
    ctx = await module_with_snapshot(module, market, bus)
    moved = PoolStateChange(tuple(PoolStateEntry.of(a, s) for a, s in market.states.items()), 5, seq=8, tx_index=0,
                            trigger_tx="0x" + "08" * 32, cause="intent")
    await module._on_change(ctx, None, moved, 2)
    published = [opp for kind, opp in events if kind == "published"]
    costs = CostInputs(gas_price_wei=10**7 + ExecutionSettings().priority_fee_wei,
                       l1_cost_wei=ScannerSettings().l1_gas_estimate * 10**7)
    expected = scanner_for(market).scan([p.address for p in market.pools], market.view, costs, block_number=5,
                                        seq=8, tx_index=0, trigger_tx="0x" + "08" * 32)
    assert len(expected) >= 3 and published == expected  # the same list, in the same order
    first = events.index(("published", expected[0]))
    sized_after = [kind for kind, _ in events[first:] if kind == "sized"]
    assert len(sized_after) >= len(expected) - 1  # the rest were sized after the decision went out
    assert events[first - 1][0] == "sized"  # the decision's own exact pass came right before it


@pytest.mark.parametrize("seed", range(4))
def test_bounds_hold_after_large_swaps_that_move_a_pool_far(seed):
    """Swaps of up to several times a pool's depth (as large intents do): the screen's walk is
    too short for the chain bound, the linear bound (one hop on its own curve, the others on
    their marginal-rate lines) takes over; it and the refined bound hold for every cycle, and
    the decision is the best of all cycles."""
    rng = random.Random(800 + seed)
    market = random_market(rng, skew=0.0005)
    scanner = scanner_for(market, NO_FILTERS)
    linear = 0
    for _ in range(30):
        pool = rng.choice(market.pools)
        state = market.states[pool.address]
        zero_for_one = rng.random() < 0.5
        if isinstance(state, V2PoolState):
            depth = state.reserve0 if zero_for_one else state.reserve1
            amount = int(depth * 10 ** rng.uniform(-1, 0.7))
            out, moved = simulate_v2_swap(state, amount, zero_for_one)
        else:
            depth = state.liquidity * 2**96 // state.sqrt_price_x96 if zero_for_one else (
                state.liquidity * state.sqrt_price_x96 >> 96)
            amount = int(depth * 10 ** rng.uniform(-1, 0.7))
            moved = apply_v3_swap(state, simulate_v3_swap(state, zero_for_one, amount))
        market.states[pool.address] = moved
        view = _ViewMemo(market.view).__getitem__
        for cycle in scanner.index.through(pool.address):
            hops = scanner._prefilter(cycle, view)
            if hops is not None and scanner._chain_bound(hops[:-1], hops[-1]) == math.inf:
                linear += scanner._linear_bound(hops[:-1]) < math.inf
        check_bounds(scanner, market, [pool.address])
        expected = one_by_one(scanner, market, [pool.address])
        plan = scanner.decide([pool.address], _ViewMemo(market.view).__getitem__, COSTS, block_number=1)
        assert plan.decision == (expected[0] if expected else None)
        market.states[pool.address] = state
    assert linear >= 10


def test_an_ineligible_opportunity_is_kept_for_the_rest_and_the_search_goes_on_past_it():
    """With ``eligible``, the best sized opportunity it refuses is found but not the decision;
    the search stops at the first bound below the best eligible one, which leads the list."""
    opp = lambda key, net: types.SimpleNamespace(net_profit_wei=net, cycle_key=key)
    candidates = [(-100, "a", None, None, None, "plan", 0, 1.0), (-90, "b", None, None, None, "plan", 0, 1.0),
                  (-60, "c", None, None, None, "plan", 0, 1.0), (-50, "d", None, None, None, "plan", 0, 1.0)]
    plan = DecisionFirst(candidates, eligible=lambda o: o.cycle_key != "a")
    assert plan.next_to_decide()[1] == "a"
    plan.record(opp("a", 95))  # the most profitable, refused
    assert plan.decision is None
    assert plan.next_to_decide()[1] == "b"  # without eligible, 95 would have stopped the search here
    plan.record(opp("b", 70))
    assert plan.decision.cycle_key == "b"
    assert plan.next_to_decide() is None  # c's bound 60 < 70
    plan.add(opp("c", 55))
    assert [o.cycle_key for o in plan.opportunities()] == ["b", "a", "c"]
    assert [o.cycle_key for o in plan.rest()] == ["a", "c"]
