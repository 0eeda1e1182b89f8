"""Uniswap V2-style constant-product pricing (Uniswap V2, SushiSwap and their forks).

``get_amount_out``/``get_amount_in`` are UniswapV2Library's, with the fee as a fraction
``fee_numerator / fee_denominator`` of the input that is kept for the swap (997/1000 on
Uniswap V2 and SushiSwap), so forks with other fees use the same code. Reverts carry the
library's revert strings; the SafeMath overflow checks on uint256 are kept.

``apply_v2_swap`` returns the reserves after a swap, for speculative state: the pair's
``swap`` also refuses to pay out its whole reserve and to hold more than uint112 per side.
"""

from __future__ import annotations

import attrs

from mevbot.pricing.errors import InvalidPoolState, SolidityRevert
from mevbot.pricing.full_math import MAX_UINT256

MAX_UINT112 = (1 << 112) - 1


def _check_uint256(function: str, value: int) -> int:
    if value > MAX_UINT256:
        raise SolidityRevert(function, "ds-math-mul-overflow", f"intermediate {value} overflows uint256")
    return value


def get_amount_out(
    amount_in: int, reserve_in: int, reserve_out: int, fee_numerator: int = 997, fee_denominator: int = 1000
) -> int:
    """Most output for ``amount_in``: floor(in*f*rOut / (rIn*d + in*f)), as getAmountOut."""
    if amount_in <= 0:
        raise SolidityRevert(
            "UniswapV2Library.getAmountOut", "UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT", f"amountIn {amount_in} must be > 0"
        )
    if reserve_in <= 0 or reserve_out <= 0:
        raise SolidityRevert(
            "UniswapV2Library.getAmountOut",
            "UniswapV2Library: INSUFFICIENT_LIQUIDITY",
            f"reserves ({reserve_in}, {reserve_out}) must both be > 0",
        )
    amount_in_with_fee = amount_in * fee_numerator
    numerator = amount_in_with_fee * reserve_out
    denominator = reserve_in * fee_denominator + amount_in_with_fee
    if numerator > MAX_UINT256 or denominator > MAX_UINT256:
        _check_uint256("UniswapV2Library.getAmountOut", max(numerator, denominator))
    return numerator // denominator


def get_amount_in(
    amount_out: int, reserve_in: int, reserve_out: int, fee_numerator: int = 997, fee_denominator: int = 1000
) -> int:
    """Least input for ``amount_out``: floor(rIn*out*d / ((rOut-out)*f)) + 1, as getAmountIn.

    The ``+ 1`` makes the input always enough (sometimes one wei more than needed), exactly as
    the library does; asking for the whole reserve or more reverts.
    """
    if amount_out <= 0:
        raise SolidityRevert(
            "UniswapV2Library.getAmountIn",
            "UniswapV2Library: INSUFFICIENT_OUTPUT_AMOUNT",
            f"amountOut {amount_out} must be > 0",
        )
    if reserve_in <= 0 or reserve_out <= 0:
        raise SolidityRevert(
            "UniswapV2Library.getAmountIn",
            "UniswapV2Library: INSUFFICIENT_LIQUIDITY",
            f"reserves ({reserve_in}, {reserve_out}) must both be > 0",
        )
    numerator = _check_uint256("UniswapV2Library.getAmountIn", reserve_in * amount_out * fee_denominator)
    if amount_out > reserve_out:
        raise SolidityRevert(
            "UniswapV2Library.getAmountIn", "ds-math-sub-underflow", f"amountOut {amount_out} > reserveOut {reserve_out}"
        )
    denominator = _check_uint256("UniswapV2Library.getAmountIn", (reserve_out - amount_out) * fee_numerator)
    if denominator == 0:
        raise SolidityRevert(
            "UniswapV2Library.getAmountIn", "", f"amountOut {amount_out} equals reserveOut: division by zero"
        )
    return numerator // denominator + 1


def _check_reserve(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_UINT112:
        raise InvalidPoolState(f"V2PoolState.{name} = {value!r}; expected an int in [0, 2**112 - 1]")


@attrs.frozen
class V2PoolState:
    """A V2 pair's reserves (``getReserves()``) and its fee, kept fraction of the input."""

    reserve0: int
    reserve1: int
    fee_numerator: int = 997
    fee_denominator: int = 1000

    def __attrs_post_init__(self) -> None:
        _check_reserve("reserve0", self.reserve0)
        _check_reserve("reserve1", self.reserve1)
        if not 0 < self.fee_numerator <= self.fee_denominator:
            raise InvalidPoolState(
                f"V2PoolState fee {self.fee_numerator}/{self.fee_denominator}; expected 0 < numerator <= denominator"
            )

    def amount_out(self, amount_in: int, zero_for_one: bool) -> int:
        """Output of swapping ``amount_in`` of token0 (zero_for_one) or token1."""
        if zero_for_one:
            return get_amount_out(amount_in, self.reserve0, self.reserve1, self.fee_numerator, self.fee_denominator)
        return get_amount_out(amount_in, self.reserve1, self.reserve0, self.fee_numerator, self.fee_denominator)

    def amount_in(self, amount_out: int, zero_for_one: bool) -> int:
        """Input of token0 (zero_for_one) or token1 needed to receive ``amount_out``."""
        if zero_for_one:
            return get_amount_in(amount_out, self.reserve0, self.reserve1, self.fee_numerator, self.fee_denominator)
        return get_amount_in(amount_out, self.reserve1, self.reserve0, self.fee_numerator, self.fee_denominator)


def apply_v2_swap(state: V2PoolState, amount_in: int, amount_out: int, zero_for_one: bool) -> V2PoolState:
    """Reserves after paying ``amount_in`` in and taking ``amount_out`` out.

    Mirrors UniswapV2Pair.swap's checks: the output must be > 0 and below the reserve, the
    fee-adjusted constant product must not decrease, and new reserves must fit in uint112.
    """
    if zero_for_one:
        reserve_in, reserve_out = state.reserve0, state.reserve1
    else:
        reserve_in, reserve_out = state.reserve1, state.reserve0
    if amount_out <= 0:
        raise SolidityRevert("UniswapV2Pair.swap", "UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT", f"amountOut {amount_out}")
    if amount_out >= reserve_out:
        raise SolidityRevert(
            "UniswapV2Pair.swap", "UniswapV2: INSUFFICIENT_LIQUIDITY", f"amountOut {amount_out} >= reserve {reserve_out}"
        )
    if amount_in <= 0:
        raise SolidityRevert("UniswapV2Pair.swap", "UniswapV2: INSUFFICIENT_INPUT_AMOUNT", f"amountIn {amount_in}")
    new_in = reserve_in + amount_in
    new_out = reserve_out - amount_out
    d, f = state.fee_denominator, state.fee_numerator
    # balanceAdjusted = balance*d - amountIn*(d - f); K must not drop (scaled by d^2).
    if (new_in * d - amount_in * (d - f)) * (new_out * d) < reserve_in * reserve_out * d * d:
        raise SolidityRevert(
            "UniswapV2Pair.swap", "UniswapV2: K", f"amountIn {amount_in} is too small for amountOut {amount_out}"
        )
    if new_in > MAX_UINT112:
        raise SolidityRevert("UniswapV2Pair.swap", "UniswapV2: OVERFLOW", f"new reserve {new_in} exceeds uint112")
    if zero_for_one:
        return attrs.evolve(state, reserve0=new_in, reserve1=new_out)
    return attrs.evolve(state, reserve0=new_out, reserve1=new_in)


def simulate_v2_swap(state: V2PoolState, amount_in: int, zero_for_one: bool) -> tuple[int, V2PoolState]:
    """(amount_out, state after) for an exact-input swap routed like UniswapV2Router."""
    amount_out = state.amount_out(amount_in, zero_for_one)
    return amount_out, apply_v2_swap(state, amount_in, amount_out, zero_for_one)
