from __future__ import annotations

from decimal import Decimal, getcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mevbot.pricing.errors import SolidityRevert
from mevbot.pricing.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
    get_tick_at_sqrt_ratio_log2,
)
from tests.pricing.vectors import encode_price_sqrt

ticks = st.integers(min_value=MIN_TICK, max_value=MAX_TICK)
prices = st.integers(min_value=MIN_SQRT_RATIO, max_value=MAX_SQRT_RATIO - 1)


# Vectors from v3-core test/TickMath.spec.ts.
@pytest.mark.parametrize(
    ("tick", "expected"),
    [
        (MIN_TICK, 4295128739),
        (MIN_TICK + 1, 4295343490),
        (MAX_TICK - 1, 1461373636630004318706518188784493106690254656249),
        (MAX_TICK, 1461446703485210103287273052203988822378723970342),
        (0, 1 << 96),
        (-50, 79030349367926598376800521322),
        (50, 79426470787362580746886972461),
        (-100, 78833030112140176575862854579),
        (100, 79625275426524748796330556128),
    ],
)
def test_sqrt_ratio_at_tick_matches_the_contract_vectors(tick, expected):
    assert get_sqrt_ratio_at_tick(tick) == expected


def test_min_and_max_sqrt_ratio_are_the_ratios_at_the_tick_bounds():
    assert get_sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO
    assert get_sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO


@pytest.mark.parametrize("tick", [MIN_TICK - 1, MAX_TICK + 1, 2**23])
def test_sqrt_ratio_at_tick_reverts_t_outside_the_tick_range(tick):
    with pytest.raises(SolidityRevert) as info:
        get_sqrt_ratio_at_tick(tick)
    assert info.value.reason == "T"


@pytest.mark.parametrize(
    "tick", [50, 100, 250, 500, 1000, 2500, 3000, 4000, 5000, 50000, 150000, 250000, 500000, 738203]
)
def test_sqrt_ratio_at_tick_is_within_one_part_in_1e6_of_the_real_value(tick):
    getcontext().prec = 80
    for t in (tick, -tick):
        exact = Decimal("1.0001") ** t
        exact = exact.sqrt() * (1 << 96)
        got = Decimal(get_sqrt_ratio_at_tick(t))
        assert abs(got - exact) / exact < Decimal("1e-6")


# Vectors from v3-core test/TickMath.spec.ts #getTickAtSqrtRatio.
@pytest.mark.parametrize(
    ("sqrt_price_x96", "expected"),
    [
        (MIN_SQRT_RATIO, MIN_TICK),
        (4295343490, MIN_TICK + 1),
        (1461373636630004318706518188784493106690254656249, MAX_TICK - 1),
        (MAX_SQRT_RATIO - 1, MAX_TICK - 1),
        (1 << 96, 0),
        (encode_price_sqrt(1, 1) + 1, 0),
        (encode_price_sqrt(1, 1) - 1, -1),
    ],
)
def test_tick_at_sqrt_ratio_matches_the_contract_vectors(sqrt_price_x96, expected):
    assert get_tick_at_sqrt_ratio(sqrt_price_x96) == expected


@pytest.mark.parametrize("price", [MIN_SQRT_RATIO - 1, MAX_SQRT_RATIO, 0])
def test_tick_at_sqrt_ratio_reverts_r_outside_the_price_range(price):
    with pytest.raises(SolidityRevert) as info:
        get_tick_at_sqrt_ratio(price)
    assert info.value.reason == "R"


@given(ticks)
def test_tick_at_sqrt_ratio_inverts_sqrt_ratio_at_tick(tick):
    if tick == MAX_TICK:
        return  # the max ratio itself is not a valid price
    assert get_tick_at_sqrt_ratio(get_sqrt_ratio_at_tick(tick)) == tick


@given(st.integers(min_value=MIN_TICK, max_value=MAX_TICK - 1))
def test_sqrt_ratio_at_tick_is_strictly_increasing(tick):
    assert get_sqrt_ratio_at_tick(tick) < get_sqrt_ratio_at_tick(tick + 1)


@given(prices)
def test_tick_at_sqrt_ratio_is_the_greatest_tick_at_or_below_the_price(price):
    tick = get_tick_at_sqrt_ratio(price)
    assert get_sqrt_ratio_at_tick(tick) <= price
    assert price < get_sqrt_ratio_at_tick(tick + 1)


@given(prices)
def test_fast_tick_lookup_equals_the_contract_log2_port(price):
    assert get_tick_at_sqrt_ratio(price) == get_tick_at_sqrt_ratio_log2(price)


@given(ticks, st.integers(min_value=-2, max_value=2))
def test_fast_tick_lookup_equals_the_port_right_at_tick_boundaries(tick, offset):
    price = get_sqrt_ratio_at_tick(tick) + offset
    if MIN_SQRT_RATIO <= price < MAX_SQRT_RATIO:
        assert get_tick_at_sqrt_ratio(price) == get_tick_at_sqrt_ratio_log2(price)


def test_fast_tick_lookup_equals_the_port_on_a_dense_sweep_of_boundaries():
    for tick in list(range(MIN_TICK, MIN_TICK + 2000)) + list(range(-1000, 1000)) + list(range(MAX_TICK - 2000, MAX_TICK)):
        boundary = get_sqrt_ratio_at_tick(tick)
        for price in (boundary - 1, boundary, boundary + 1):
            if MIN_SQRT_RATIO <= price < MAX_SQRT_RATIO:
                assert get_tick_at_sqrt_ratio(price) == get_tick_at_sqrt_ratio_log2(price)
