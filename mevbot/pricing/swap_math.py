"""Uniswap V3 SwapMath.computeSwapStep: one step of a swap within a single liquidity range.

Given the current price, the price the step may move to (next tick or the caller's limit),
the active liquidity, the amount still to swap (positive: exact input remaining; negative:
exact output remaining) and the fee in hundredths of a bip, returns
``(sqrt_price_next_x96, amount_in, amount_out, fee_amount)`` exactly as the contract does,
including its quirks: when exact input stops short of the target, the whole remainder that was
not swapped is charged as fee; exact output is capped at what was asked for.
"""

from __future__ import annotations

from mevbot.pricing.full_math import mul_div, mul_div_rounding_up
from mevbot.pricing.sqrt_price_math import (
    get_amount0_delta,
    get_amount1_delta,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
)

_PIPS = 1_000_000


def compute_swap_step(
    sqrt_ratio_current_x96: int,
    sqrt_ratio_target_x96: int,
    liquidity: int,
    amount_remaining: int,
    fee_pips: int,
) -> tuple[int, int, int, int]:
    """One swap step; returns (sqrt_price_next_x96, amount_in, amount_out, fee_amount)."""
    zero_for_one = sqrt_ratio_current_x96 >= sqrt_ratio_target_x96
    exact_in = amount_remaining >= 0
    amount_in = amount_out = 0

    if exact_in:
        remaining_less_fee = mul_div(amount_remaining, _PIPS - fee_pips, _PIPS)
        if zero_for_one:
            amount_in = get_amount0_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, True)
        else:
            amount_in = get_amount1_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, True)
        if remaining_less_fee >= amount_in:
            sqrt_ratio_next = sqrt_ratio_target_x96
        else:
            sqrt_ratio_next = get_next_sqrt_price_from_input(
                sqrt_ratio_current_x96, liquidity, remaining_less_fee, zero_for_one
            )
    else:
        if zero_for_one:
            amount_out = get_amount1_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, False)
        else:
            amount_out = get_amount0_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, False)
        if -amount_remaining >= amount_out:
            sqrt_ratio_next = sqrt_ratio_target_x96
        else:
            sqrt_ratio_next = get_next_sqrt_price_from_output(
                sqrt_ratio_current_x96, liquidity, -amount_remaining, zero_for_one
            )

    reached_target = sqrt_ratio_target_x96 == sqrt_ratio_next
    if zero_for_one:
        if not (reached_target and exact_in):
            amount_in = get_amount0_delta(sqrt_ratio_next, sqrt_ratio_current_x96, liquidity, True)
        if not (reached_target and not exact_in):
            amount_out = get_amount1_delta(sqrt_ratio_next, sqrt_ratio_current_x96, liquidity, False)
    else:
        if not (reached_target and exact_in):
            amount_in = get_amount1_delta(sqrt_ratio_current_x96, sqrt_ratio_next, liquidity, True)
        if not (reached_target and not exact_in):
            amount_out = get_amount0_delta(sqrt_ratio_current_x96, sqrt_ratio_next, liquidity, False)

    if not exact_in and amount_out > -amount_remaining:
        amount_out = -amount_remaining

    if exact_in and sqrt_ratio_next != sqrt_ratio_target_x96:
        fee_amount = amount_remaining - amount_in
    else:
        fee_amount = mul_div_rounding_up(amount_in, fee_pips, _PIPS - fee_pips)
    return sqrt_ratio_next, amount_in, amount_out, fee_amount
