from hypothesis import given, settings, strategies as st

from mevbot.scanner.search import (
    V2Hop,
    golden_section_search,
    inside_bracket,
    mobius_optimum,
    refine_around,
    v2_chain_optimum,
)


def v2_out(amount_in: int, hop: V2Hop) -> int:
    """UniswapV2Library.getAmountOut, written out here as the independent reference."""
    with_fee = amount_in * hop.fee_num
    return with_fee * hop.reserve_out // (hop.reserve_in * hop.fee_den + with_fee)


def chain_out(x: int, hops: list[V2Hop]) -> int:
    for hop in hops:
        x = v2_out(x, hop)
    return x


def brute_force_best(hops: list[V2Hop], high: int) -> int:
    return max(chain_out(x, hops) - x for x in range(1, high + 1))


reserves = st.integers(min_value=1_000, max_value=5_000)


@settings(max_examples=30, deadline=None)
@given(reserves, reserves, reserves, reserves)
def test_v2_closed_form_refined_matches_brute_force(r1in, r1out, r2in, r2out):
    hops = [V2Hop(r1in, r1out), V2Hop(r2in, r2out)]
    guess = v2_chain_optimum(hops)
    best = brute_force_best(hops, 6_000)
    result = refine_around(lambda x: chain_out(x, hops), guess)
    # Exact up to the integer-rounding noise of the chain (see the golden-section test).
    noise = 1 + -(-r2out // r2in)
    assert max(best, 0) - 2 * noise <= max(result.profit, 0) <= max(best, 0)


def test_v2_closed_form_is_zero_when_prices_agree():
    hops = [V2Hop(1_000_000, 2_000_000), V2Hop(2_000_000, 1_000_000)]
    assert v2_chain_optimum(hops) == 0


def test_v2_closed_form_on_a_three_hop_chain_is_near_the_integer_optimum():
    hops = [V2Hop(50_000, 100_000), V2Hop(100_000, 60_000), V2Hop(30_000, 40_000)]
    guess = v2_chain_optimum(hops)
    assert guess > 0
    assert refine_around(lambda x: chain_out(x, hops), guess).profit == brute_force_best(hops, 30_000)


@settings(max_examples=30, deadline=None)
@given(reserves, reserves, reserves, reserves)
def test_golden_section_finds_the_integer_optimum_of_a_concave_cycle(r1in, r1out, r2in, r2out):
    hops = [V2Hop(r1in, r1out), V2Hop(r2in, r2out)]
    best = brute_force_best(hops, 6_000)
    result = golden_section_search(lambda x: chain_out(x, hops), 1, 6_000, max_evaluations=80)
    assert result.evaluations <= 80
    # Integer floors make the profit jagged by up to one unit at the end plus one unit of the
    # middle token valued at the second hop's marginal rate; the search must land within that.
    noise = 1 + -(-r2out // r2in)
    assert max(best, 0) - 2 * noise <= result.profit <= max(best, 0)


def test_golden_section_treats_rejected_sizes_as_unprofitable():
    def simulate(x: int) -> int:
        if x > 900:
            raise ZeroDivisionError("insufficient liquidity")
        return x + 1_000_000 - (x - 700) ** 2  # strictly concave profit peaking at 700

    result = golden_section_search(simulate, 1, 100_000, max_evaluations=64)
    assert (result.amount_in, result.profit) == (700, 1_000_000)


def test_golden_section_reports_nothing_when_no_input_is_profitable():
    result = golden_section_search(lambda x: x - 1 - x // 100, 1, 10_000)
    assert result.amount_in == 0 and result.profit == 0


def test_golden_section_brackets_a_range_of_many_orders_of_magnitude_cheaply():
    peak = 3 * 10**18

    def simulate(x: int) -> int:  # concave profit peaking at 3e18, input range up to 1e24
        return x + peak - (x - peak) ** 2 // peak

    result = golden_section_search(simulate, 1, 10**24, max_evaluations=80)
    assert result.evaluations <= 80
    # stops at 2**-20 relative precision: the profit left on the table is ~2**-40 of it
    assert abs(result.amount_in - peak) <= peak >> 19
    assert result.profit >= peak - (peak >> 38)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(10**6, 10**30), st.integers(10**6, 10**30), st.sampled_from([997, 9995, 999_900])),
                min_size=2, max_size=3))
def test_float_mobius_optimum_agrees_with_the_integer_closed_form(raw):
    """The Newton start point (floats) and the V2 closed form (integers) are the same optimum."""
    hops = [V2Hop(r_in, r_out, fee, {997: 1000, 9995: 10_000, 999_900: 1_000_000}[fee]) for r_in, r_out, fee in raw]
    a, b, c = 1.0, 1.0, 0.0
    for hop in hops:
        gamma = hop.fee_num / hop.fee_den
        a, b, c = gamma * hop.reserve_out * a, hop.reserve_in * b, hop.reserve_in * c + gamma * a
    exact = v2_chain_optimum(hops)
    start = mobius_optimum(a, b, c)
    if exact == 0:
        assert start is None or start < 2
    else:
        assert start is not None and abs(start - exact) <= 1 + exact * 1e-9


@given(st.integers(0, 10**24), st.integers(0, 10**24), st.floats(1e-12, 10), st.one_of(st.none(), st.floats(-10, -1e-12)))
def test_bracket_points_are_strictly_inside(low, width, slope_low, slope_high):
    high = low + width
    x = inside_bracket(low, high, slope_low, slope_high)
    assert (x is None) == (high - low <= 1)
    assert x is None or low < x < high
