"""The scanner finds, sizes and prices cycles exactly, and filters and orders them."""

import attrs
import pytest

from mevbot.pricing.tick_math import get_sqrt_ratio_at_tick
from mevbot.pricing.v2 import V2PoolState
from mevbot.pricing.v3_pool import V3PoolState, simulate_v3_swap
from mevbot.scanner.cycles import build_cycle_index
from mevbot.risk.rules import RiskBook, judge
from mevbot.risk.settings import RiskSettings
from mevbot.scanner.engine import CostInputs, GasModel, ScanFilters, Scanner

WETH, USDC = "0x" + "0a" * 20, "0x" + "0b" * 20  # WETH sorts first: token0 in every pool
P1, P2, P3 = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
E18 = 10**18


@attrs.frozen
class Pool:
    address: str
    token0: str
    token1: str


POOLS = [Pool(P1, WETH, USDC), Pool(P2, WETH, USDC)]


def views(states):
    return lambda pool: states.get(pool.lower())


def v2_out(x, r_in, r_out):
    return x * 997 * r_out // (r_in * 1000 + x * 997)


def test_v2_price_gap_is_found_with_exact_amounts_and_net_profit():
    # P1 prices WETH at 2000 USDC, P2 at 2100: buy USDC on P2... sell WETH where it is dear.
    states = {P1: V2PoolState(1000 * E18, 2_000_000 * E18), P2: V2PoolState(1000 * E18, 2_100_000 * E18)}
    scanner = Scanner(build_cycle_index(POOLS, start_tokens=[WETH]), filters=ScanFilters(), weth=WETH)
    found = scanner.scan([P1], views(states), CostInputs(gas_price_wei=10**8), block_number=7, seq=3, tx_index=1)
    assert len(found) == 1
    opp = found[0]
    assert [h.pool for h in opp.route] == [P2, P1]
    mid = v2_out(opp.amount_in, 1000 * E18, 2_100_000 * E18)
    out = v2_out(mid, 2_000_000 * E18, 1000 * E18)
    assert (opp.route[0].amount_out, opp.amount_out) == (mid, out)
    assert opp.gross_profit == out - opp.amount_in > 0
    assert opp.l2_cost_wei == GasModel().estimate(opp.route) * 10**8
    assert opp.net_profit == opp.gross_profit - opp.cost_wei  # WETH start: costs 1:1
    assert (opp.block_number, opp.seq, opp.tx_index) == (7, 3, 1)
    # price impact: the hop moves the pool's mid price from r_out/r_in to (r_out-out)/(r_in+in)
    r_in, r_out = 1000 * E18, 2_100_000 * E18
    expected = 10_000 - (r_out - mid) * r_in * 10_000 // (r_out * (r_in + opp.amount_in))
    assert opp.route[0].price_impact_bps == expected > 0
    # the chosen size is (near) optimal: a little more or less is not better
    for other in (opp.amount_in * 99 // 100, opp.amount_in * 101 // 100):
        o = v2_out(v2_out(other, 1000 * E18, 2_100_000 * E18), 2_000_000 * E18, 1000 * E18)
        assert o - other <= opp.gross_profit


def test_no_opportunity_when_prices_agree():
    states = {P1: V2PoolState(1000 * E18, 2_000_000 * E18), P2: V2PoolState(500 * E18, 1_000_000 * E18)}
    scanner = Scanner(build_cycle_index(POOLS, start_tokens=[WETH]), filters=ScanFilters())
    assert scanner.scan([P1, P2], views(states), CostInputs(gas_price_wei=10**8), block_number=1) == []


@pytest.mark.parametrize("filters", [ScanFilters(min_profit=10**30), ScanFilters(min_profit_to_cost=10**9)])
def test_filters_drop_small_or_costly_opportunities(filters):
    states = {P1: V2PoolState(1000 * E18, 2_000_000 * E18), P2: V2PoolState(1000 * E18, 2_100_000 * E18)}
    scanner = Scanner(build_cycle_index(POOLS, start_tokens=[WETH]), filters=filters)
    assert scanner.scan([P1], views(states), CostInputs(gas_price_wei=10**8), block_number=1) == []
    assert scanner.counters.filtered == 1


def test_gas_cost_above_the_gap_leaves_nothing():
    states = {P1: V2PoolState(1000 * E18, 2_000_000 * E18), P2: V2PoolState(1000 * E18, 2_020_000 * E18)}
    scanner = Scanner(build_cycle_index(POOLS, start_tokens=[WETH]), filters=ScanFilters())
    cheap = scanner.scan([P1], views(states), CostInputs(gas_price_wei=10**6), block_number=1)
    assert len(cheap) == 1  # profitable before gas ...
    assert scanner.scan([P1], views(states), CostInputs(gas_price_wei=10**14), block_number=1) == []
    assert scanner.counters.filtered == 1  # ... and not after


def v3_pool_at_price(tick: int) -> V3PoolState:
    # one wide position around the price: liquidity over ticks [-887220, 887220] (spacing 60)
    lower, upper = -887220, 887220
    words = {}
    for t in (lower, upper):
        c = t // 60
        words[c >> 8] = words.get(c >> 8, 0) | 1 << (c & 0xFF)
    return V3PoolState(
        sqrt_price_x96=get_sqrt_ratio_at_tick(tick), tick=tick, liquidity=10**24, fee_pips=3000,
        tick_spacing=60, bitmap_words=words, liquidity_net_by_tick={lower: 10**24, upper: -10**24},
        complete_word_range=(lower // 60 >> 8, upper // 60 >> 8),
    )


def test_v2_v3_cycle_is_sized_by_search_and_simulated_exactly():
    # V3 at tick 76013 ~ price 2000 USDC/WETH (same decimals here), V2 at 2100.
    v3 = v3_pool_at_price(76013)
    states = {P1: v3, P2: V2PoolState(1000 * E18, 2_100_000 * E18)}
    scanner = Scanner(build_cycle_index(POOLS, start_tokens=[WETH]), filters=ScanFilters(max_input=10**22))
    found = scanner.scan([P1], views(states), CostInputs(gas_price_wei=10**8), block_number=1)
    assert len(found) == 1
    opp = found[0]
    assert [h.pool for h in opp.route] == [P2, P1]
    mid = v2_out(opp.amount_in, 1000 * E18, 2_100_000 * E18)
    out = simulate_v3_swap(v3, False, mid).amount_out  # sells USDC (token1) into the V3 pool
    assert opp.amount_out == out and opp.gross_profit == out - opp.amount_in > 0
    assert opp.route[1].kind == "v3" and opp.evaluations <= ScanFilters().max_evaluations
    after = simulate_v3_swap(v3, False, mid).sqrt_price_x96
    assert opp.route[1].price_impact_bps == 10_000 - v3.sqrt_price_x96 ** 2 * 10_000 // after ** 2 > 0


def test_missing_tick_data_is_reported_for_the_pipeline_to_fetch():
    v3 = attrs.evolve(v3_pool_at_price(76013), bitmap_words={}, complete_word_range=None)
    states = {P1: v3, P2: V2PoolState(1000 * E18, 2_100_000 * E18)}
    scanner = Scanner(build_cycle_index(POOLS, start_tokens=[WETH]), filters=ScanFilters())
    assert scanner.scan([P1], views(states), CostInputs(gas_price_wei=10**8), block_number=1) == []
    assert P1 in scanner.missing and scanner.counters.missing_data >= 1


def test_cost_in_a_non_weth_start_token_uses_the_weth_pool_price():
    states = {P1: V2PoolState(1000 * E18, 2_000_000 * E18), P2: V2PoolState(1000 * E18, 2_100_000 * E18)}
    scanner = Scanner(build_cycle_index(POOLS, start_tokens=[USDC]), filters=ScanFilters(), weth=WETH)
    found = scanner.scan([P1], views(states), CostInputs(gas_price_wei=10**8), block_number=1)
    assert len(found) == 1
    opp = found[0]
    pool_state = states[opp.route[0].pool]  # the first WETH/USDC pool by key order prices gas
    assert opp.cost_in_start_token in {
        opp.cost_wei * s.reserve1 // s.reserve0 for s in states.values()
    }
    assert opp.net_profit == opp.gross_profit - opp.cost_in_start_token
    assert pool_state is not None


def test_results_are_ordered_by_feed_position_then_most_profitable_then_cycle_key():
    states = {P1: V2PoolState(1000 * E18, 2_000_000 * E18), P2: V2PoolState(1000 * E18, 2_100_000 * E18)}
    scanner = Scanner(build_cycle_index(POOLS, start_tokens=[WETH, USDC]), filters=ScanFilters(), weth=WETH)
    found = scanner.scan([P2, P1], views(states), CostInputs(gas_price_wei=0), block_number=1, seq=5, tx_index=0)
    assert len(found) == 2
    assert [o.order_key for o in found] == sorted((5, 0, -o.net_profit_wei, o.cycle_key) for o in found)
    assert found[0].net_profit_wei > found[1].net_profit_wei


def test_of_two_opportunities_through_one_pool_risk_approves_the_more_profitable():
    # P1 is cheap; selling WETH on P2 (2050) or on P3 (2100) and buying it back on P1 both pay,
    # P3 more. Both go through P1, so risk approves the first and holds the other while that
    # trade is in flight (pool_in_flight): the first must be the P3 one, although its cycle key
    # sorts after the P2 one's (the old (seq, tx_index, cycle_key) order traded the P2 cycle).
    pools = POOLS + [Pool(P3, WETH, USDC)]
    states = {P1: V2PoolState(1000 * E18, 2_000_000 * E18), P2: V2PoolState(1000 * E18, 2_050_000 * E18),
              P3: V2PoolState(1000 * E18, 2_100_000 * E18)}
    scanner = Scanner(build_cycle_index(pools, start_tokens=[WETH]), filters=ScanFilters(), weth=WETH)
    found = scanner.scan([P1], views(states), CostInputs(gas_price_wei=10**8), block_number=1, seq=4, tx_index=0)
    via = {o.route[0].pool: o for o in found}
    assert set(via) == {P2, P3} and via[P3].net_profit_wei > via[P2].net_profit_wei
    assert via[P2].cycle_key < via[P3].cycle_key  # the old order would have put P2's first
    book, decisions = RiskBook(), []
    for i, opp in enumerate(found):  # as RiskModule._judge does, in publication order
        decision = judge(opp, RiskSettings(), book, now=1.0)
        decisions.append((opp.route[0].pool, decision.approved, decision.rule))
        if decision.approved:
            book.open_trade(f"r{i}", opp, now=1.0)
    assert decisions == [(P3, True, None), (P2, False, "pool_in_flight")]
