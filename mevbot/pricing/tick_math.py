"""Uniswap V3 TickMath: sqrt(1.0001^tick) * 2^96 and back, bit-exact with the contract.

``get_sqrt_ratio_at_tick`` is the contract's chain of Q128.128 magic constants (one per bit of
|tick|), including its final round-up from Q128.128 to Q64.96, so the value is the one the
pool uses, not a floating-point approximation. It is memoised: a pool's swaps keep landing on
the same few initialised and word-boundary ticks, and a cache hit costs far less than the
up-to-twenty 256-bit multiplications.

``get_tick_at_sqrt_ratio_log2`` reproduces the contract's log2 approximation step by step (the
integer logarithm is deterministic, so we inherit its result, including the final
``tickHi``/``tickLow`` disambiguation), returning the greatest tick whose ratio is <= the price.
That is slow in Python (fourteen 256-bit squarings), so ``get_tick_at_sqrt_ratio`` first takes
the float logarithm: its error is below 1e-9 tick, and the contract's own ratios differ from
the exact sqrt(1.0001^t) * 2^96 by at most one unit, under 5e-6 tick even at MIN_SQRT_RATIO. So
when the float lands more than 1e-3 from an integer its floor *is* the greatest tick with
ratio <= price, the contract's answer; closer than that (about 0.2% of prices) we run the port.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from functools import lru_cache

from mevbot.pricing.errors import SolidityRevert
from mevbot.pricing.full_math import MAX_UINT256

MIN_TICK = -887272
MAX_TICK = 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342

# (bit of |tick|, Q128.128 value of 1/sqrt(1.0001)^bit) exactly as in TickMath.sol.
_BIT_FACTORS = (
    (0x2, 0xFFF97272373D413259A46990580E213A),
    (0x4, 0xFFF2E50F5F656932EF12357CF3C7FDCC),
    (0x8, 0xFFE5CACA7E10E4E61C3624EAA0941CD0),
    (0x10, 0xFFCB9843D60F6159C9DB58835C926644),
    (0x20, 0xFF973B41FA98C081472E6896DFB254C0),
    (0x40, 0xFF2EA16466C96A3843EC78B326B52861),
    (0x80, 0xFE5DEE046A99A2A811C461F1969C3053),
    (0x100, 0xFCBE86C7900A88AEDCFFC83B479AA3A4),
    (0x200, 0xF987A7253AC413176F2B074CF7815E54),
    (0x400, 0xF3392B0822B70005940C7A398E4B70F3),
    (0x800, 0xE7159475A2C29B7443B29C7FA6E889D9),
    (0x1000, 0xD097F3BDFD2022B8845AD8F792AA5825),
    (0x2000, 0xA9F746462D870FDF8A65DC1F90E061E5),
    (0x4000, 0x70D869A156D2A1B890BB3DF62BAF32F7),
    (0x8000, 0x31BE135F97D08FD981231505542FCFA6),
    (0x10000, 0x9AA508B5B7A84E1C677DE54F3E99BC9),
    (0x20000, 0x5D6AF8DEDB81196699C329225EE604),
    (0x40000, 0x2216E584F5FA1EA926041BEDFE98),
    (0x80000, 0x48A170391F7DC42444E8FA2),
)
_LOG_SQRT10001 = 255738958999603826347141
_TICK_LOW_ERROR = 3402992956809132418596140100660247210
_TICK_HIGH_ERROR = 291339464771989622907027621153398088495
_MASK_32 = (1 << 32) - 1
_LN_Q96 = 96 * math.log(2)
with localcontext() as _context:
    _context.prec = 50
    _LN_SQRT_1_0001 = float(Decimal("1.0001").ln() / 2)
_SAFE_FRACTION = 1e-3


@lru_cache(maxsize=1 << 16)
def get_sqrt_ratio_at_tick(tick: int) -> int:
    """sqrt(1.0001^tick) as Q64.96, as TickMath.getSqrtRatioAtTick; reverts 'T' out of range."""
    abs_tick = -tick if tick < 0 else tick
    if abs_tick > MAX_TICK:
        raise SolidityRevert(
            "TickMath.getSqrtRatioAtTick", "T", f"tick {tick} is outside [{MIN_TICK}, {MAX_TICK}]"
        )
    ratio = 0xFFFCB933BD6FAD37AA2D162D1A594001 if abs_tick & 0x1 else 0x100000000000000000000000000000000
    for bit, factor in _BIT_FACTORS:
        if abs_tick & bit:
            ratio = (ratio * factor) >> 128
    if tick > 0:
        ratio = MAX_UINT256 // ratio
    return (ratio >> 32) + (1 if ratio & _MASK_32 else 0)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """Greatest tick with ratio <= price, as TickMath.getTickAtSqrtRatio; reverts 'R' out of range."""
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        return get_tick_at_sqrt_ratio_log2(sqrt_price_x96)
    estimate = (math.log(sqrt_price_x96) - _LN_Q96) / _LN_SQRT_1_0001
    tick = math.floor(estimate)
    fraction = estimate - tick
    if _SAFE_FRACTION < fraction < 1 - _SAFE_FRACTION:
        return tick
    return get_tick_at_sqrt_ratio_log2(sqrt_price_x96)


def get_tick_at_sqrt_ratio_log2(sqrt_price_x96: int) -> int:
    """TickMath.getTickAtSqrtRatio transliterated: the contract's integer log2 approximation."""
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        raise SolidityRevert(
            "TickMath.getTickAtSqrtRatio",
            "R",
            f"sqrtPriceX96 {sqrt_price_x96} is outside [{MIN_SQRT_RATIO}, {MAX_SQRT_RATIO})",
        )
    ratio = sqrt_price_x96 << 32
    msb = ratio.bit_length() - 1
    r = ratio >> (msb - 127) if msb >= 128 else ratio << (127 - msb)
    log_2 = (msb - 128) << 64
    # Fourteen squarings give the fractional bits 63..50 of log2, as the contract's assembly.
    for shift in range(63, 49, -1):
        r = (r * r) >> 127
        f = r >> 128
        log_2 |= f << shift
        r >>= f
    log_sqrt10001 = log_2 * _LOG_SQRT10001
    tick_low = (log_sqrt10001 - _TICK_LOW_ERROR) >> 128
    tick_high = (log_sqrt10001 + _TICK_HIGH_ERROR) >> 128
    if tick_low == tick_high:
        return tick_low
    return tick_high if get_sqrt_ratio_at_tick(tick_high) <= sqrt_price_x96 else tick_low
