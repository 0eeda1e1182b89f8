from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mevbot.pricing import (
    InvalidPoolState,
    SolidityRevert,
    V2PoolState,
    apply_v2_swap,
    get_amount_in,
    get_amount_out,
    simulate_v2_swap,
)
from mevbot.pricing.full_math import MAX_UINT256
from mevbot.pricing.v2 import MAX_UINT112
from tests.pricing.vectors import expand_to_18_decimals

E18 = expand_to_18_decimals(1)


def test_router_vectors_for_tiny_reserves():
    # v2-periphery test/UniswapV2Router02.spec.ts
    assert get_amount_out(2, 100, 100) == 1
    assert get_amount_in(1, 100, 100) == 2


@pytest.mark.parametrize(
    ("swap_amount", "reserve0", "reserve1", "expected_out"),
    [
        (1, 5, 10, 1662497915624478906),
        (1, 10, 5, 453305446940074565),
        (2, 5, 10, 2851015155847869602),
        (2, 10, 5, 831248957812239453),
        (1, 10, 10, 906610893880149131),
        (1, 100, 100, 987158034397061298),
        (1, 1000, 1000, 996006981039903216),
    ],
)
def test_pair_swap_vectors_from_v2_core(swap_amount, reserve0, reserve1, expected_out):
    # v2-core test/UniswapV2Pair.spec.ts swapTestCases (amounts in whole tokens).
    assert get_amount_out(swap_amount * E18, reserve0 * E18, reserve1 * E18) == expected_out


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: get_amount_out(0, 100, 100), "UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT"),
        (lambda: get_amount_out(1, 0, 100), "UniswapV2Library: INSUFFICIENT_LIQUIDITY"),
        (lambda: get_amount_out(1, 100, 0), "UniswapV2Library: INSUFFICIENT_LIQUIDITY"),
        (lambda: get_amount_in(0, 100, 100), "UniswapV2Library: INSUFFICIENT_OUTPUT_AMOUNT"),
        (lambda: get_amount_in(1, 0, 100), "UniswapV2Library: INSUFFICIENT_LIQUIDITY"),
        (lambda: get_amount_in(101, 100, 100), "ds-math-sub-underflow"),
        (lambda: get_amount_in(100, 100, 100), ""),
        (lambda: get_amount_out(2**250, 100, 100), "ds-math-mul-overflow"),
    ],
)
def test_library_reverts_carry_the_contract_reason(call, reason):
    with pytest.raises(SolidityRevert) as info:
        call()
    assert info.value.reason == reason


def test_get_amount_in_adds_one_even_when_the_division_is_exact():
    # 997 * 1 * 1000 / ((1001 - 1) * 997) == 1 exactly, yet the library asks for 2.
    assert get_amount_in(1, 997, 1001) == 2
    assert get_amount_out(1, 997, 1001) == 1


reserves = st.integers(min_value=1, max_value=MAX_UINT112)
fees = st.sampled_from([(997, 1000), (9975, 10000), (998, 1000), (1, 1), (99_700, 100_000)])


def _exact_division(amount_out, reserve_in, reserve_out, fee):
    numerator = reserve_in * amount_out * fee[1]
    denominator = (reserve_out - amount_out) * fee[0]
    return numerator % denominator == 0


@given(st.integers(min_value=1, max_value=2**112), reserves, reserves, fees)
def test_amount_in_for_the_output_of_x_is_at_most_x_plus_the_unconditional_one(
    amount_in, reserve_in, reserve_out, fee
):
    out = get_amount_out(amount_in, reserve_in, reserve_out, *fee)
    if out == 0:
        return
    needed = get_amount_in(out, reserve_in, reserve_out, *fee)
    if _exact_division(out, reserve_in, reserve_out, fee):
        assert needed <= amount_in + 1
    else:
        assert needed <= amount_in


@given(reserves, reserves, st.integers(min_value=1, max_value=MAX_UINT112), fees)
def test_amount_in_is_the_least_input_plus_one_only_on_exact_division(reserve_in, reserve_out, amount_out, fee):
    if amount_out >= reserve_out:
        return
    needed = get_amount_in(amount_out, reserve_in, reserve_out, *fee)
    # Near-total drains need inputs so large that getAmountOut's products overflow: it reverts.
    assume(needed * fee[0] * reserve_out <= MAX_UINT256)
    assert get_amount_out(needed, reserve_in, reserve_out, *fee) >= amount_out
    if needed >= 2:
        enough_with_one_less = get_amount_out(needed - 1, reserve_in, reserve_out, *fee) >= amount_out
        assert enough_with_one_less == _exact_division(amount_out, reserve_in, reserve_out, fee)


@given(reserves, reserves, st.integers(min_value=1, max_value=2**100), fees, st.booleans())
def test_pair_accepts_exactly_get_amount_out_and_rejects_one_wei_more(r0, r1, amount_in, fee, zero_for_one):
    state = V2PoolState(r0, r1, *fee)
    try:
        out, after = simulate_v2_swap(state, amount_in, zero_for_one)
    except SolidityRevert as error:
        assert error.reason in {"UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT", "UniswapV2: OVERFLOW"}
        return
    assert after.reserve0 * after.reserve1 >= r0 * r1
    if zero_for_one:
        assert (after.reserve0, after.reserve1) == (r0 + amount_in, r1 - out)
    else:
        assert (after.reserve0, after.reserve1) == (r0 - out, r1 + amount_in)
    if out + 1 < (r1 if zero_for_one else r0):
        with pytest.raises(SolidityRevert) as info:
            apply_v2_swap(state, amount_in, out + 1, zero_for_one)
        assert info.value.reason == "UniswapV2: K"


def test_pair_refuses_to_pay_out_its_whole_reserve():
    with pytest.raises(SolidityRevert) as info:
        apply_v2_swap(V2PoolState(100, 100), 10**9, 100, True)
    assert info.value.reason == "UniswapV2: INSUFFICIENT_LIQUIDITY"


def test_pool_state_rejects_reserves_outside_uint112_and_bad_fees():
    with pytest.raises(InvalidPoolState, match="reserve0"):
        V2PoolState(-1, 5)
    with pytest.raises(InvalidPoolState, match="reserve1"):
        V2PoolState(5, MAX_UINT112 + 1)
    with pytest.raises(InvalidPoolState, match="fee"):
        V2PoolState(5, 5, 1001, 1000)


def test_sushiswap_and_uniswap_share_the_997_fee_and_other_forks_pass_theirs():
    assert V2PoolState(10 * E18, 10 * E18).amount_out(E18, True) == 906610893880149131
    pancake = V2PoolState(10 * E18, 10 * E18, 9975, 10000)
    assert pancake.amount_out(E18, True) > 906610893880149131
    assert pancake.amount_in(pancake.amount_out(E18, False), False) <= E18
