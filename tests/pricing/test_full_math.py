from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mevbot.pricing.errors import SolidityRevert
from mevbot.pricing.full_math import MAX_UINT256, Q128, div_rounding_up, mul_div, mul_div_rounding_up

uint256 = st.integers(min_value=0, max_value=MAX_UINT256)


# Vectors from v3-core test/FullMath.spec.ts.
def test_mul_div_reverts_when_denominator_is_zero():
    with pytest.raises(SolidityRevert):
        mul_div(Q128, 5, 0)


def test_mul_div_reverts_when_result_overflows_uint256():
    with pytest.raises(SolidityRevert, match="does not fit in uint256"):
        mul_div(Q128, Q128, 1)
    with pytest.raises(SolidityRevert):
        mul_div(MAX_UINT256, MAX_UINT256, MAX_UINT256 - 1)


def test_mul_div_of_max_inputs_is_exact():
    assert mul_div(MAX_UINT256, MAX_UINT256, MAX_UINT256) == MAX_UINT256
    assert mul_div(Q128, 50 * Q128 // 100, 150 * Q128 // 100) == Q128 // 3
    assert mul_div(Q128, 35 * Q128, 8 * Q128) == 4375 * Q128 // 1000
    assert mul_div(Q128, 1000 * Q128, 3000 * Q128) == Q128 // 3


def test_mul_div_rounding_up_reverts_when_rounding_up_overflows():
    with pytest.raises(SolidityRevert):
        mul_div_rounding_up(
            535006138814359,
            432862656469423142931042426214547535783388063929571229938474969,
            2,
        )
    with pytest.raises(SolidityRevert):
        mul_div_rounding_up(
            115792089237316195423570985008687907853269984659341747863450311749907997002549,
            115792089237316195423570985008687907853269984659341747863450311749907997002550,
            115792089237316195423570985008687907853269984653042931687443039491902864365164,
        )


def test_mul_div_rounding_up_adds_one_only_with_a_remainder():
    assert mul_div_rounding_up(Q128, 50 * Q128 // 100, 150 * Q128 // 100) == Q128 // 3 + 1
    assert mul_div_rounding_up(Q128, 35 * Q128, 8 * Q128) == 4375 * Q128 // 1000
    assert mul_div_rounding_up(MAX_UINT256, MAX_UINT256, MAX_UINT256) == MAX_UINT256


@given(uint256, uint256, st.integers(min_value=1, max_value=MAX_UINT256))
def test_mul_div_is_floor_of_the_exact_quotient_or_reverts_when_it_overflows(a, b, d):
    exact_floor = a * b // d
    if exact_floor > MAX_UINT256:
        with pytest.raises(SolidityRevert):
            mul_div(a, b, d)
    else:
        assert mul_div(a, b, d) == exact_floor


@given(uint256, uint256, st.integers(min_value=1, max_value=MAX_UINT256))
def test_mul_div_rounding_up_is_ceiling_of_the_exact_quotient_or_reverts(a, b, d):
    exact_ceil = -(-(a * b) // d)
    if exact_ceil > MAX_UINT256:
        with pytest.raises(SolidityRevert):
            mul_div_rounding_up(a, b, d)
    else:
        assert mul_div_rounding_up(a, b, d) == exact_ceil


def test_div_rounding_up_by_zero_is_zero_like_evm_div():
    assert div_rounding_up(7, 0) == 0
    assert div_rounding_up(7, 2) == 4
    assert div_rounding_up(8, 2) == 4
