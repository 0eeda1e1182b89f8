"""Exact Uniswap V2/V3 pricing: pure integer functions that agree with the contracts to the wei.

No I/O and no trio here. The public surface:

- V2 (Uniswap V2, SushiSwap, forks): :func:`get_amount_out`, :func:`get_amount_in`,
  :class:`V2PoolState`, :func:`apply_v2_swap`, :func:`simulate_v2_swap`.
- V3: :class:`V3PoolState`, :func:`simulate_v3_swap` -> :class:`V3SwapResult`,
  :func:`apply_v3_swap`; the libraries it is built from live in ``full_math``, ``tick_math``,
  ``sqrt_price_math``, ``swap_math``, ``liquidity_math`` and ``tick_bitmap``.
- Errors: :class:`SolidityRevert` (the contract would revert), :class:`MissingTickData`
  (fetch a bitmap word or tick and retry), :class:`InvalidPoolState`.
"""

from mevbot.pricing.errors import InvalidPoolState, MissingTickData, PricingError, SolidityRevert
from mevbot.pricing.v2 import V2PoolState, apply_v2_swap, get_amount_in, get_amount_out, simulate_v2_swap
from mevbot.pricing.v3_pool import V3PoolState, V3SwapResult, apply_v3_swap, simulate_v3_swap

__all__ = [
    "InvalidPoolState",
    "MissingTickData",
    "PricingError",
    "SolidityRevert",
    "V2PoolState",
    "V3PoolState",
    "V3SwapResult",
    "apply_v2_swap",
    "apply_v3_swap",
    "get_amount_in",
    "get_amount_out",
    "simulate_v2_swap",
    "simulate_v3_swap",
]
