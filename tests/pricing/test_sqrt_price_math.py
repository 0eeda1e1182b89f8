from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mevbot.pricing.errors import SolidityRevert
from mevbot.pricing.full_math import MAX_UINT128, MAX_UINT256
from mevbot.pricing.sqrt_price_math import (
    get_amount0_delta,
    get_amount0_delta_signed,
    get_amount1_delta,
    get_amount1_delta_signed,
    get_next_sqrt_price_from_amount0_rounding_up,
    get_next_sqrt_price_from_amount1_rounding_down,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
)
from mevbot.pricing.tick_math import MAX_SQRT_RATIO, MIN_SQRT_RATIO
from tests.pricing.vectors import encode_price_sqrt, expand_to_18_decimals

PRICE_1 = encode_price_sqrt(1, 1)
E18 = expand_to_18_decimals(1)
# Virtual reserves of this price and liquidity 1024: 4 token0, 262144 token1.
SMALL_PRICE = 20282409603651670423947251286016


# Vectors from v3-core test/SqrtPriceMath.spec.ts.
def test_next_price_from_input_reverts_when_price_is_zero():
    with pytest.raises(SolidityRevert):
        get_next_sqrt_price_from_input(0, 0, E18 // 10, False)


def test_next_price_from_input_reverts_when_liquidity_is_zero():
    with pytest.raises(SolidityRevert):
        get_next_sqrt_price_from_input(1, 0, E18 // 10, True)


def test_next_price_from_input_reverts_when_the_input_overflows_the_price():
    with pytest.raises(SolidityRevert):
        get_next_sqrt_price_from_input(2**160 - 1, 1024, 1024, False)


def test_any_input_amount_cannot_underflow_the_price():
    assert get_next_sqrt_price_from_input(1, 1, 2**255, True) == 1


@pytest.mark.parametrize("zero_for_one", [True, False])
def test_zero_amount_returns_the_input_price(zero_for_one):
    assert get_next_sqrt_price_from_input(PRICE_1, E18 // 10, 0, zero_for_one) == PRICE_1
    assert get_next_sqrt_price_from_output(PRICE_1, E18 // 10, 0, zero_for_one) == PRICE_1


@pytest.mark.parametrize(
    ("zero_for_one", "expected"),
    [(False, 87150978765690771352898345369), (True, 72025602285694852357767227579)],
)
def test_input_of_a_tenth_token_moves_price_to_the_contract_value(zero_for_one, expected):
    assert get_next_sqrt_price_from_input(PRICE_1, E18, E18 // 10, zero_for_one) == expected


def test_input_above_uint96_max_with_zero_for_one():
    assert get_next_sqrt_price_from_input(PRICE_1, expand_to_18_decimals(10), 2**100, True) == 624999999995069620


def test_input_can_drive_price_to_one():
    assert get_next_sqrt_price_from_input(PRICE_1, 1, MAX_UINT256 // 2, True) == 1


@pytest.mark.parametrize(
    ("amount_out", "zero_for_one"),
    [(4, False), (5, False), (262145, True), (262144, True), (MAX_UINT256, True), (MAX_UINT256, False)],
)
def test_output_at_or_above_the_virtual_reserve_reverts(amount_out, zero_for_one):
    price = SMALL_PRICE if amount_out != MAX_UINT256 else PRICE_1
    liquidity = 1024 if amount_out != MAX_UINT256 else 1
    with pytest.raises(SolidityRevert):
        get_next_sqrt_price_from_output(price, liquidity, amount_out, zero_for_one)


def test_output_just_below_the_token1_virtual_reserve_succeeds():
    assert get_next_sqrt_price_from_output(SMALL_PRICE, 1024, 262143, True) == 77371252455336267181195264


@pytest.mark.parametrize(
    ("zero_for_one", "expected"),
    [(False, 88031291682515930659493278152), (True, 71305346262837903834189555302)],
)
def test_output_of_a_tenth_token_moves_price_to_the_contract_value(zero_for_one, expected):
    assert get_next_sqrt_price_from_output(PRICE_1, E18, E18 // 10, zero_for_one) == expected


def test_amount_deltas_are_zero_for_zero_liquidity_or_equal_prices():
    assert get_amount0_delta(PRICE_1, encode_price_sqrt(2, 1), 0, True) == 0
    assert get_amount0_delta(PRICE_1, PRICE_1, 0, True) == 0
    assert get_amount1_delta(PRICE_1, encode_price_sqrt(2, 1), 0, True) == 0


def test_amount0_delta_from_1_to_1_21():
    up = get_amount0_delta(PRICE_1, encode_price_sqrt(121, 100), E18, True)
    assert up == 90909090909090910
    assert get_amount0_delta(PRICE_1, encode_price_sqrt(121, 100), E18, False) == up - 1


def test_amount0_delta_works_for_prices_whose_product_overflows():
    a, b = encode_price_sqrt(2**90, 1), encode_price_sqrt(2**96, 1)
    assert get_amount0_delta(a, b, E18, True) == get_amount0_delta(a, b, E18, False) + 1


def test_amount1_delta_from_1_to_1_21():
    up = get_amount1_delta(PRICE_1, encode_price_sqrt(121, 100), E18, True)
    assert up == 100000000000000000
    assert get_amount1_delta(PRICE_1, encode_price_sqrt(121, 100), E18, False) == up - 1


def test_swap_computation_where_sqrt_p_times_sqrt_q_overflows():
    sqrt_p = 1025574284609383690408304870162715216695788925244
    liquidity = 50015962439936049619261659728067971248
    sqrt_q = get_next_sqrt_price_from_input(sqrt_p, liquidity, 406, True)
    assert sqrt_q == 1025574284609383582644711336373707553698163132913
    assert get_amount0_delta(sqrt_q, sqrt_p, liquidity, True) == 406


def test_signed_deltas_round_up_when_adding_and_down_when_removing_liquidity():
    a, b = PRICE_1, encode_price_sqrt(121, 100)
    assert get_amount0_delta_signed(a, b, E18) == 90909090909090910
    assert get_amount0_delta_signed(a, b, -E18) == -90909090909090909
    assert get_amount1_delta_signed(a, b, E18) == 100000000000000000
    assert get_amount1_delta_signed(a, b, -E18) == -99999999999999999


prices = st.integers(min_value=MIN_SQRT_RATIO, max_value=MAX_SQRT_RATIO - 1)
liquidities = st.integers(min_value=1, max_value=MAX_UINT128)
amounts = st.integers(min_value=0, max_value=2**200)


@given(prices, liquidities, amounts)
def test_next_price_from_token0_input_never_overshoots_the_exact_price(price, liquidity, amount):
    got = get_next_sqrt_price_from_amount0_rounding_up(price, liquidity, amount, True)
    # Exact: L*P / (L + amount*P/2^96); rounding up keeps the price at or above it.
    numerator = (liquidity << 96) * price
    denominator = (liquidity << 96) + amount * price
    assert got * denominator >= numerator
    assert got <= price


@given(prices, liquidities, st.integers(min_value=0, max_value=2**160))
def test_next_price_from_token1_input_rounds_down(price, liquidity, amount):
    try:
        got = get_next_sqrt_price_from_amount1_rounding_down(price, liquidity, amount, True)
    except SolidityRevert:
        assert price + (amount << 96) // liquidity >= 2**160
        return
    assert got == price + (amount << 96) // liquidity


@given(prices, prices, st.integers(min_value=0, max_value=MAX_UINT128))
def test_amount_deltas_round_up_by_at_most_one_over_rounding_down(a, b, liquidity):
    for delta in (get_amount0_delta, get_amount1_delta):
        up, down = delta(a, b, liquidity, True), delta(a, b, liquidity, False)
        assert down <= up <= down + 1
