"""Uniswap V3 FullMath and UnsafeMath on Python integers.

Python integers do not overflow, so ``mulDiv`` is a plain ``a * b // d``; what we must mirror
is where the contract refuses: a zero denominator or a result that does not fit in 256 bits,
and for the rounding-up variant the extra ``result < type(uint256).max`` check before adding
one. Inputs are assumed to already be uint256 values (callers validate at their boundary).
"""

from __future__ import annotations

from mevbot.pricing.errors import SolidityRevert

MAX_UINT256 = (1 << 256) - 1
MAX_UINT160 = (1 << 160) - 1
MAX_UINT128 = (1 << 128) - 1
MIN_INT256 = -(1 << 255)
MAX_INT256 = (1 << 255) - 1
Q96 = 1 << 96
Q128 = 1 << 128


def mul_div(a: int, b: int, denominator: int) -> int:
    """floor(a * b / denominator) with the full 512-bit product, as FullMath.mulDiv."""
    if denominator == 0:
        raise SolidityRevert("FullMath.mulDiv", "", "denominator is zero")
    result = a * b // denominator
    if result > MAX_UINT256:
        raise SolidityRevert("FullMath.mulDiv", "", f"result {result} does not fit in uint256")
    return result


def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """ceil(a * b / denominator), as FullMath.mulDivRoundingUp (same reverts as mul_div)."""
    if denominator == 0:
        raise SolidityRevert("FullMath.mulDivRoundingUp", "", "denominator is zero")
    result, remainder = divmod(a * b, denominator)
    if result > MAX_UINT256 or (remainder and result == MAX_UINT256):
        raise SolidityRevert(
            "FullMath.mulDivRoundingUp", "", f"rounded-up result of {a} * {b} / {denominator} does not fit in uint256"
        )
    return result + 1 if remainder else result


def div_rounding_up(x: int, y: int) -> int:
    """ceil(x / y), as UnsafeMath.divRoundingUp.

    The contract does this in assembly, where EVM ``div`` by zero yields 0 instead of
    reverting; every caller guarantees ``y > 0`` first, but we keep the EVM answer.
    """
    if y == 0:
        return 0
    return -(-x // y)
