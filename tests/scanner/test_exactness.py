"""The optimised Scanner against the unoptimised ReferenceScanner, on random markets.

Both report only exact simulations; they may choose different sizes. The reference sizes V3
cycles by golden-section search to 2^-20 of the input, the scanner by Newton steps to 2^-32 or
to one *grain*: the input that moves an intermediate hop's integer output by one unit of its
token at the marginal rates there (one unit of USDC is ~3e8 wei of WETH, one of WBTC ~2e11,
more after a price-moving trade). Within a grain the exact
profit is a staircase of integer roundings that neither search resolves, so the scanner's
profit must be the reference's less at most two grains (plus 2^-30 of it), every reported
amount must be what the independent simulator (CycleSimulation, ``simulate_v3_swap``) gives,
and the reported cycles must be the same except where one side is within that tolerance of a
filter. The prune must never drop a cycle the reference reports.
"""

from __future__ import annotations

import random

import attrs
import pytest
from hypothesis import given, settings, strategies as st

from mevbot.pricing.v2 import V2PoolState
from mevbot.pricing.v3_pool import simulate_v3_swap
from mevbot.scanner.cycles import build_cycle_index
from mevbot.scanner.engine import CostInputs, CycleSimulation, ReferenceScanner, ScanFilters, Scanner
from tests.scanner.markets import MarketPool, random_market, v3_state

FILTERS = ScanFilters(min_profit=10**12, min_profit_to_cost=1.2, max_input=10**21, max_evaluations=64)
COSTS = CostInputs(gas_price_wei=2 * 10**7, l1_cost_wei=2000 * 10**7)


def both(market, filters=FILTERS):
    index = build_cycle_index(market.pools, start_tokens=[market.weth])
    dexes = {p.address: p.dex for p in market.pools}
    make = lambda cls: cls(index, filters=filters, weth=market.weth, dex_of=lambda p: dexes.get(p.lower(), ""))
    return index, make(Scanner), make(ReferenceScanner)


def hop_out(state, zero_for_one: bool, amount: int) -> int:
    if isinstance(state, V2PoolState):
        return state.amount_out(amount, zero_for_one)
    return simulate_v3_swap(state, zero_for_one, amount).amount_out


def grains(opp, view) -> float:
    """One unit of each intermediate token of the route, valued in start-token units at the
    route's marginal rates (finite differences on the exact simulator, ~1e-6 of each input)."""
    total, rate = 0.0, 1.0
    for hop in opp.route[:-1]:
        state = view(hop.pool)
        step = max(hop.amount_in // 10**6, -(-1000 * hop.amount_in // max(1, hop.amount_out)))
        rate *= (hop_out(state, hop.token_in.lower() < hop.token_out.lower(), hop.amount_in + step)
                 - hop.amount_out) / step
        total += 1 / rate
    return total


def tolerance(opp, view) -> int:
    """Two grains of the route's intermediate tokens, in start-token units, plus 2^-30."""
    return int(2 * (grains(opp, view) + 1)) + (abs(opp.gross_profit) >> 30)


def headroom(opp, filters=FILTERS) -> int:
    """How far above the filters an opportunity is, in start-token units."""
    return int(min(opp.net_profit - max(filters.min_profit, 1),
                   opp.gross_profit - filters.min_profit_to_cost * opp.cost_in_start_token))


@pytest.mark.parametrize("seed", range(10))
def test_optimised_scan_reports_the_reference_cycles_with_exact_amounts(seed):
    market = random_market(random.Random(seed))
    index, fast, ref = both(market)
    everything = [p.address for p in market.pools]
    found = {o.cycle_key: o for o in fast.scan(everything, market.view, COSTS, block_number=1)}
    expected = {o.cycle_key: o for o in ref.scan(everything, market.view, COSTS, block_number=1)}
    assert expected, "the market must have opportunities to compare"
    cycles = {c.key: c for c in index.cycles}
    for key in expected.keys() - found.keys():
        assert headroom(expected[key]) < tolerance(expected[key], market.view), f"dropped {key} (seed {seed})"
    for key in found.keys() - expected.keys():
        assert headroom(found[key]) < tolerance(found[key], market.view), f"extra {key} (seed {seed})"
    borderline = len(expected.keys() ^ found.keys())
    assert borderline <= max(1, len(expected) // 20)
    for key in expected.keys() & found.keys():
        opp, reference = found[key], expected[key]
        assert opp.gross_profit >= reference.gross_profit - tolerance(reference, market.view), (seed, key)
        # exact: the route is the independent simulator's for that input, hop by hop
        simulated = CycleSimulation(cycles[key], market.view).route(opp.amount_in, fast.dex_of)
        assert opp.route == simulated
        assert opp.amount_out == simulated[-1].amount_out and opp.gross_profit == opp.amount_out - opp.amount_in
        assert opp.gas_units == fast.gas.estimate(simulated)
        assert opp.evaluations <= FILTERS.max_evaluations
    best = max(found.values(), key=lambda o: (o.net_profit_wei, o.cycle_key))
    best_ref = max(expected.values(), key=lambda o: (o.net_profit_wei, o.cycle_key))
    assert best.cycle_key == best_ref.cycle_key or \
        abs(best.net_profit - best_ref.net_profit) <= tolerance(best, market.view) + tolerance(best_ref, market.view)


@pytest.mark.parametrize("seed", range(10))
def test_pruned_cycles_lose_at_every_size_and_the_reference_reports_none_of_them(seed):
    market = random_market(random.Random(100 + seed))
    index, fast, ref = both(market)
    pruned = 0
    for cycle in index.cycles:
        if fast._prefilter(cycle, market.view) is not None:
            continue
        pruned += 1
        assert ref.evaluate(cycle, market.view, COSTS, block_number=1) is None, cycle.key
        simulate = CycleSimulation(cycle, market.view)
        for exponent in range(0, 22):
            for size in (10**exponent, 3 * 10**exponent):
                try:
                    assert simulate(size) <= size, (cycle.key, size)
                except ArithmeticError:
                    pass  # a size the pools cannot take (or that rounds to nothing)
    assert pruned >= len(index.cycles) // 4  # the prune has work to do on these markets
    assert fast.counters.pruned == pruned


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.floats(-0.02, 0.02), st.sampled_from([100, 500, 3000, 10000]),
       st.booleans(), st.integers(1, 10**22))
def test_a_pair_whose_marginal_rates_multiply_to_at_most_one_never_profits(seed, gap, fee, v2_first, size):
    """The prune's premise on a V2/V3 pair: rate product <= 1 means out(x) <= x, exactly."""
    rng = random.Random(seed)
    weth, usdc = "0x" + "0a" * 20, "0x" + "0b" * 20
    price = 3000 * 10**-12  # USDC (6 decimals) per WETH (18), raw: WETH sorts first
    v2 = V2PoolState(10**21, int(10**21 * price * (1 + gap)))
    v3 = v3_state(rng, price, (10**21 * 10**21 * price) ** 0.5, fee)
    pools = (MarketPool("0x" + "11" * 20, weth, usdc, "uniswap_v2"), MarketPool("0x" + "22" * 20, weth, usdc, "uniswap_v3"))
    states = {pools[0].address: v2, pools[1].address: v3}
    index = build_cycle_index(pools, start_tokens=[weth])
    scanner = Scanner(index, filters=FILTERS, weth=weth)
    for cycle in index.cycles:
        if cycle.hops[0].pool != pools[0 if v2_first else 1].address:
            continue
        if scanner._prefilter(cycle, states.get) is None:
            try:
                assert CycleSimulation(cycle, states.get)(size) <= size
            except ArithmeticError:
                pass


@pytest.mark.parametrize("seed", range(4))
def test_scan_is_deterministic_and_equals_cycle_by_cycle_evaluation(seed):
    market = random_market(random.Random(200 + seed))
    index, fast, _ = both(market)
    pools = [p.address for p in market.pools]
    first = fast.scan(pools, market.view, COSTS, block_number=3, seq=9, tx_index=2)
    shuffled = pools[:]
    random.Random(seed).shuffle(shuffled)
    _, again, _ = both(market)
    assert again.scan(shuffled, market.view, COSTS, block_number=3, seq=9, tx_index=2) == first
    assert fast.scan(pools, market.view, COSTS, block_number=3, seq=9, tx_index=2) == first  # warm caches
    one_by_one = [fast.evaluate(c, market.view, COSTS, block_number=3, seq=9, tx_index=2)
                  for c in index.through_any(pools)]
    assert sorted((o for o in one_by_one if o is not None), key=lambda o: o.order_key) == first
    assert [o.order_key for o in first] == sorted((9, 2, -o.net_profit_wei, o.cycle_key) for o in first)


def test_missing_tick_data_is_asked_of_the_pool_whose_walk_left_its_words_only():
    """Two V3 pools 5 % apart, one holding only its current bitmap word (256 ticks ~ 2.6 %):
    sizing the gap walks it out of that word; the other pool holds every word."""
    rng = random.Random(11)
    weth, usdc = "0x" + "0a" * 20, "0x" + "0b" * 20
    price = 3000.0
    whole = v3_state(rng, price, 10**21 * price ** 0.5, 100)
    thin_full = v3_state(rng, price * 1.05, 10**21 * (price * 1.05) ** 0.5, 100)
    word = thin_full.tick >> 8
    thin = attrs.evolve(thin_full, bitmap_words={w: v for w, v in thin_full.bitmap_words.items() if w == word},
                        complete_word_range=None)
    pools = (MarketPool("0x" + "11" * 20, weth, usdc, "uniswap_v3"), MarketPool("0x" + "22" * 20, weth, usdc, "uniswap_v3"))
    states = {pools[0].address: whole, pools[1].address: thin}
    scanner = Scanner(build_cycle_index(pools, start_tokens=[weth]), filters=FILTERS, weth=weth)
    assert scanner.scan([p.address for p in pools], states.get, COSTS, block_number=1) == []
    assert set(scanner.missing) == {pools[1].address}
    assert scanner.missing[pools[1].address].word not in thin.bitmap_words
    # with the word filled in, the same scan sizes the gap
    states[pools[1].address] = thin_full
    scanner.missing.clear()
    found = scanner.scan([p.address for p in pools], states.get, COSTS, block_number=1)
    assert len(found) == 1 and not scanner.missing
