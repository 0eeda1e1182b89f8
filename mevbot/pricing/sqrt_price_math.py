"""Uniswap V3 SqrtPriceMath: next price from an amount, and amounts between two prices.

Every function rounds the way the contract does (the rounding always favours the pool), and
reproduces the contract's overflow behaviour: where Solidity 0.7 multiplies unchecked and then
tests for wrap-around (``getNextSqrtPriceFromAmount0RoundingUp``), we test the same condition
(the product not fitting in 256 bits) and take the same fallback branch, whose rounding differs.
Prices are uint160 Q64.96, liquidity uint128, amounts uint256; callers pass values in range.
"""

from __future__ import annotations

from mevbot.pricing.errors import SolidityRevert
from mevbot.pricing.full_math import (
    MAX_INT256,
    MAX_UINT160,
    MAX_UINT256,
    div_rounding_up,
    mul_div,
    mul_div_rounding_up,
)

_Q96 = 1 << 96


def get_next_sqrt_price_from_amount0_rounding_up(
    sqrt_price_x96: int, liquidity: int, amount: int, add: bool
) -> int:
    """Price after adding (removing) ``amount`` of token0, rounded up."""
    if amount == 0:
        return sqrt_price_x96
    numerator1 = liquidity << 96
    product = amount * sqrt_price_x96
    if add:
        if product <= MAX_UINT256:
            denominator = numerator1 + product
            if denominator <= MAX_UINT256:
                return mul_div_rounding_up(numerator1, sqrt_price_x96, denominator)
        # The contract's fallback when amount * price (or the sum) wraps: different rounding.
        divisor = numerator1 // sqrt_price_x96 + amount
        if divisor > MAX_UINT256:
            raise SolidityRevert(
                "SqrtPriceMath.getNextSqrtPriceFromAmount0RoundingUp", "", "liquidity/price + amount overflows uint256"
            )
        return div_rounding_up(numerator1, divisor)
    if product > MAX_UINT256 or numerator1 <= product:
        raise SolidityRevert(
            "SqrtPriceMath.getNextSqrtPriceFromAmount0RoundingUp",
            "",
            f"removing {amount} token0 needs more than the virtual reserve at price {sqrt_price_x96}, liquidity {liquidity}",
        )
    result = mul_div_rounding_up(numerator1, sqrt_price_x96, numerator1 - product)
    if result > MAX_UINT160:
        raise SolidityRevert(
            "SqrtPriceMath.getNextSqrtPriceFromAmount0RoundingUp", "", f"next price {result} does not fit in uint160"
        )
    return result


def get_next_sqrt_price_from_amount1_rounding_down(
    sqrt_price_x96: int, liquidity: int, amount: int, add: bool
) -> int:
    """Price after adding (removing) ``amount`` of token1, rounded down."""
    if add:
        if amount <= MAX_UINT160:
            quotient = (amount << 96) // liquidity
        else:
            quotient = mul_div(amount, _Q96, liquidity)
        result = sqrt_price_x96 + quotient
        if result > MAX_UINT160:
            raise SolidityRevert(
                "SqrtPriceMath.getNextSqrtPriceFromAmount1RoundingDown", "", f"next price {result} does not fit in uint160"
            )
        return result
    if amount <= MAX_UINT160:
        quotient = div_rounding_up(amount << 96, liquidity)
    else:
        quotient = mul_div_rounding_up(amount, _Q96, liquidity)
    if sqrt_price_x96 <= quotient:
        raise SolidityRevert(
            "SqrtPriceMath.getNextSqrtPriceFromAmount1RoundingDown",
            "",
            f"removing {amount} token1 needs more than the virtual reserve at price {sqrt_price_x96}, liquidity {liquidity}",
        )
    return sqrt_price_x96 - quotient


def _require_price_and_liquidity(function: str, sqrt_price_x96: int, liquidity: int) -> None:
    if sqrt_price_x96 <= 0:
        raise SolidityRevert(function, "", f"sqrtPX96 must be > 0, got {sqrt_price_x96}")
    if liquidity <= 0:
        raise SolidityRevert(function, "", f"liquidity must be > 0, got {liquidity}")


def get_next_sqrt_price_from_input(sqrt_price_x96: int, liquidity: int, amount_in: int, zero_for_one: bool) -> int:
    """Price after swapping ``amount_in`` in; rounds so the target price is never passed."""
    if sqrt_price_x96 <= 0 or liquidity <= 0:
        _require_price_and_liquidity("SqrtPriceMath.getNextSqrtPriceFromInput", sqrt_price_x96, liquidity)
    if zero_for_one:
        return get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_in, True)
    return get_next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_in, True)


def get_next_sqrt_price_from_output(sqrt_price_x96: int, liquidity: int, amount_out: int, zero_for_one: bool) -> int:
    """Price after taking ``amount_out`` out; rounds so the target price is always reached."""
    if sqrt_price_x96 <= 0 or liquidity <= 0:
        _require_price_and_liquidity("SqrtPriceMath.getNextSqrtPriceFromOutput", sqrt_price_x96, liquidity)
    if zero_for_one:
        return get_next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_out, False)
    return get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_out, False)


def get_amount0_delta(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool) -> int:
    """Token0 between two prices for ``liquidity``: L * (sqrtB - sqrtA) / (sqrtA * sqrtB)."""
    if sqrt_ratio_a_x96 > sqrt_ratio_b_x96:
        sqrt_ratio_a_x96, sqrt_ratio_b_x96 = sqrt_ratio_b_x96, sqrt_ratio_a_x96
    if sqrt_ratio_a_x96 <= 0:
        raise SolidityRevert("SqrtPriceMath.getAmount0Delta", "", f"lower sqrt price must be > 0, got {sqrt_ratio_a_x96}")
    numerator1 = liquidity << 96
    numerator2 = sqrt_ratio_b_x96 - sqrt_ratio_a_x96
    if round_up:
        return div_rounding_up(mul_div_rounding_up(numerator1, numerator2, sqrt_ratio_b_x96), sqrt_ratio_a_x96)
    return mul_div(numerator1, numerator2, sqrt_ratio_b_x96) // sqrt_ratio_a_x96


def get_amount1_delta(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool) -> int:
    """Token1 between two prices for ``liquidity``: L * (sqrtB - sqrtA)."""
    if sqrt_ratio_a_x96 > sqrt_ratio_b_x96:
        sqrt_ratio_a_x96, sqrt_ratio_b_x96 = sqrt_ratio_b_x96, sqrt_ratio_a_x96
    if round_up:
        return mul_div_rounding_up(liquidity, sqrt_ratio_b_x96 - sqrt_ratio_a_x96, _Q96)
    return mul_div(liquidity, sqrt_ratio_b_x96 - sqrt_ratio_a_x96, _Q96)


def _to_int256(function: str, value: int) -> int:
    if value > MAX_INT256:
        raise SolidityRevert(function, "", f"{value} does not fit in int256 (SafeCast.toInt256)")
    return value


def get_amount0_delta_signed(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity_delta: int) -> int:
    """Signed token0 owed for a liquidity change: rounded up when adding, down when removing."""
    if liquidity_delta < 0:
        amount = get_amount0_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, -liquidity_delta, False)
        return -_to_int256("SqrtPriceMath.getAmount0Delta", amount)
    amount = get_amount0_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, liquidity_delta, True)
    return _to_int256("SqrtPriceMath.getAmount0Delta", amount)


def get_amount1_delta_signed(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity_delta: int) -> int:
    """Signed token1 owed for a liquidity change: rounded up when adding, down when removing."""
    if liquidity_delta < 0:
        amount = get_amount1_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, -liquidity_delta, False)
        return -_to_int256("SqrtPriceMath.getAmount1Delta", amount)
    amount = get_amount1_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, liquidity_delta, True)
    return _to_int256("SqrtPriceMath.getAmount1Delta", amount)
