"""Uniswap V3 LiquidityMath.addDelta: apply a signed liquidityNet to the active liquidity."""

from __future__ import annotations

from mevbot.pricing.errors import SolidityRevert
from mevbot.pricing.full_math import MAX_UINT128


def add_delta(liquidity: int, delta: int) -> int:
    """liquidity + delta as uint128; reverts 'LS' below zero and 'LA' above 2^128 - 1."""
    result = liquidity + delta
    if delta < 0:
        if result < 0:
            raise SolidityRevert("LiquidityMath.addDelta", "LS", f"liquidity {liquidity} + {delta} is below zero")
    elif result > MAX_UINT128:
        raise SolidityRevert("LiquidityMath.addDelta", "LA", f"liquidity {liquidity} + {delta} exceeds uint128")
    return result
