from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mevbot.pricing.full_math import MAX_UINT128
from mevbot.pricing.liquidity_math import add_delta
from mevbot.pricing.errors import SolidityRevert
from mevbot.pricing.sqrt_price_math import get_next_sqrt_price_from_input, get_next_sqrt_price_from_output
from mevbot.pricing.swap_math import compute_swap_step
from mevbot.pricing.tick_math import MAX_SQRT_RATIO, MIN_SQRT_RATIO
from tests.pricing.vectors import encode_price_sqrt, expand_to_18_decimals

PRICE_1 = encode_price_sqrt(1, 1)
E18 = expand_to_18_decimals(1)


# Cases and expected outputs from v3-core test/SwapMath.spec.ts.
def test_exact_in_capped_at_price_target_in_one_for_zero():
    target = encode_price_sqrt(101, 100)
    price, amount_in, amount_out, fee = compute_swap_step(PRICE_1, target, 2 * E18, E18, 600)
    assert (amount_in, fee, amount_out) == (9975124224178055, 5988667735148, 9925619580021728)
    assert amount_in + fee < E18
    assert price == target
    assert price < get_next_sqrt_price_from_input(PRICE_1, 2 * E18, E18, False)


def test_exact_out_capped_at_price_target_in_one_for_zero():
    target = encode_price_sqrt(101, 100)
    price, amount_in, amount_out, fee = compute_swap_step(PRICE_1, target, 2 * E18, -E18, 600)
    assert (amount_in, fee, amount_out) == (9975124224178055, 5988667735148, 9925619580021728)
    assert amount_out < E18
    assert price == target
    assert price < get_next_sqrt_price_from_output(PRICE_1, 2 * E18, E18, False)


def test_exact_in_fully_spent_in_one_for_zero():
    target = encode_price_sqrt(1000, 100)
    price, amount_in, amount_out, fee = compute_swap_step(PRICE_1, target, 2 * E18, E18, 600)
    assert (amount_in, fee, amount_out) == (999400000000000000, 600000000000000, 666399946655997866)
    assert amount_in + fee == E18
    assert price < target
    assert price == get_next_sqrt_price_from_input(PRICE_1, 2 * E18, E18 - fee, False)


def test_exact_out_fully_received_in_one_for_zero():
    target = encode_price_sqrt(10000, 100)
    price, amount_in, amount_out, fee = compute_swap_step(PRICE_1, target, 2 * E18, -E18, 600)
    assert (amount_in, fee, amount_out) == (2000000000000000000, 1200720432259356, E18)
    assert price < target
    assert price == get_next_sqrt_price_from_output(PRICE_1, 2 * E18, E18, False)


def test_amount_out_is_capped_at_the_desired_amount_out():
    result = compute_swap_step(
        417332158212080721273783715441582, 1452870262520218020823638996, 159344665391607089467575320103, -1, 1
    )
    assert result == (417332158212080721273783715441581, 1, 1, 1)


def test_target_price_of_one_uses_partial_input_amount():
    price, amount_in, amount_out, fee = compute_swap_step(2, 1, 1, 3915081100057732413702495386755767, 1)
    assert (amount_in, fee, amount_out, price) == (39614081257132168796771975168, 39614120871253040049813, 0, 1)
    assert amount_in + fee <= 3915081100057732413702495386755767


def test_entire_input_amount_taken_as_fee():
    result = compute_swap_step(2413, 79887613182836312, 1985041575832132834610021537970, 10, 1872)
    assert result == (2413, 0, 0, 10)


def test_intermediate_insufficient_liquidity_in_zero_for_one_exact_output():
    price = 20282409603651670423947251286016
    target = price * 11 // 10
    next_price, amount_in, amount_out, fee = compute_swap_step(price, target, 1024, -4, 3000)
    assert (next_price, amount_in, amount_out, fee) == (target, 26215, 0, 79)


def test_intermediate_insufficient_liquidity_in_one_for_zero_exact_output():
    price = 20282409603651670423947251286016
    target = price * 9 // 10
    next_price, amount_in, amount_out, fee = compute_swap_step(price, target, 1024, -263000, 3000)
    assert (next_price, amount_in, amount_out, fee) == (target, 1, 26214, 1)


prices = st.integers(min_value=MIN_SQRT_RATIO, max_value=MAX_SQRT_RATIO - 1)
liquidities = st.integers(min_value=1, max_value=MAX_UINT128)
fees = st.integers(min_value=0, max_value=999_999)


@given(prices, prices, liquidities, st.integers(min_value=-(2**200), max_value=2**200).filter(bool), fees)
def test_swap_step_invariants_from_the_echidna_suite(current, target, liquidity, remaining, fee_pips):
    try:
        next_price, amount_in, amount_out, fee = compute_swap_step(current, target, liquidity, remaining, fee_pips)
    except SolidityRevert:
        return  # some random extreme inputs overflow in the contract too
    zero_for_one = current >= target
    if remaining > 0:
        assert amount_in + fee <= remaining
    else:
        assert amount_out <= -remaining
    if current == target:
        assert next_price == target
    # The price moves towards the target and never past it.
    if zero_for_one:
        assert target <= next_price <= current
    else:
        assert current <= next_price <= target
    # A step that stops short of the target used up the whole remaining amount.
    if next_price != target:
        if remaining > 0:
            assert amount_in + fee == remaining
        else:
            assert amount_out == -remaining


def test_add_delta_mirrors_liquidity_math_and_its_reverts():
    assert add_delta(1, 0) == 1
    assert add_delta(1, -1) == 0
    assert add_delta(1, 1) == 2
    with pytest.raises(SolidityRevert) as low:
        add_delta(0, -1)
    assert low.value.reason == "LS"
    with pytest.raises(SolidityRevert) as high:
        add_delta(2**128 - 15, 15)
    assert high.value.reason == "LA"
    with pytest.raises(SolidityRevert):
        add_delta(3, -4)


# Third-party vectors, stated to be checked against SwapMath compiled with solc 0.7.6
# (a public repository's clSwapVectors); they add the overflow-fallback and near-100% fee cases.
@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (
            (79228162514264337593543950336, 78990846045029531151608375686, 10**18, 10**15, 3000),
            (79149250711305166342700278159, 997000000000000, 996006981039903, 3000000000000),
        ),
        (
            (79228162514264337593543950336, 79466191966197645195421774833, 10**18, 10**15, 3000),
            (79307152992291059138124713654, 997000000000000, 996006981039903, 3000000000000),
        ),
        (
            (79228162514264337593543950336, 78990846045029531151608375686, 10**18, 10**18, 3000),
            (78990846045029531151608375686, 3004354062741926, 2995354955910780, 9040182736436),
        ),
        (
            (79228162514264337593543950336, 78990846045029531151608375686, 10**18, 1, 3000),
            (79228162514264337593543950336, 0, 0, 1),
        ),
        (
            (79228162514264337593543950336, 79466191966197645195421774833, 0, 10**15, 3000),
            (79466191966197645195421774833, 0, 0, 0),
        ),
        (
            (
                18611883644907511909590774894315720731532604461,
                4295343490,
                340282366920938463463374607431768211455,
                1532495540865888858358347027150309183618739122183602176,
                0,
            ),
            (
                17592186044416,
                1532495540865888858358347027150307735080213845105972711,
                79937431571835040596422886914383801282503091205295450168,
                1448538525277077629465,
            ),
        ),
        (
            (79228162514264337593543950336, 78990846045029531151608375686, 10**18, 10**15, 999999),
            (79228162435036175158507775178, 1000000000, 999999999, 999999000000000),
        ),
    ],
)
def test_swap_step_matches_solc_checked_vectors(inputs, expected):
    assert compute_swap_step(*inputs) == expected
