"""The devnet's market layout: tokens, reference prices, pools and liquidity ranges (pure).

Prices are in USD per whole token; each DEX gets a small skew so that arbitrage gaps exist from
block one and noise traffic widens or closes them. V3 positions sit in three nested tick ranges
(narrow, middle, full) so that a swap of a few thousand dollars leaves the narrow range and
crosses initialized ticks. The math here turns those into raw amounts, sqrtPriceX96 and ticks.
"""

from __future__ import annotations

import decimal
import math

import attrs

MIN_TICK = -887272
MAX_TICK = 887272
V3_TICK_SPACING = {500: 10, 3000: 60, 10000: 200}
V2_FEE_PIPS = 3000  # 0.3 %, in the same hundredths-of-a-bip unit as V3 fees


@attrs.frozen
class TokenSpec:
    symbol: str
    name: str
    decimals: int
    usd_price: float


@attrs.frozen
class PoolSpec:
    dex: str  # "uniswap_v2", "sushiswap" or "uniswap_v3"
    symbol_a: str
    symbol_b: str
    fee_pips: int = V2_FEE_PIPS


@attrs.frozen
class RangeSpec:
    name: str
    half_width_ticks: int | None  # None = full range
    usd_per_side: float


WETH = TokenSpec("WETH", "Wrapped Ether", 18, 3000.0)
TOKENS = (
    TokenSpec("USDC", "USD Coin (devnet)", 6, 1.0),
    TokenSpec("USDT", "Tether USD (devnet)", 6, 1.0),
    TokenSpec("WBTC", "Wrapped BTC (devnet)", 8, 60000.0),
    TokenSpec("DAI", "Dai Stablecoin (devnet)", 18, 1.0),
    TokenSpec("ARB", "Arbitrum (devnet)", 18, 0.8),
)
ALL_TOKENS = (WETH, *TOKENS)

V2_PAIRS = (("WETH", "USDC"), ("WETH", "USDT"), ("WBTC", "WETH"), ("WETH", "DAI"), ("ARB", "WETH"),
            ("USDC", "USDT"), ("WBTC", "USDC"))
V3_POOLS = tuple((a, b, fee) for a, b in (("WETH", "USDC"), ("WETH", "USDT"), ("WBTC", "WETH"), ("ARB", "WETH"))
                 for fee in (500, 3000, 10000)) + (("USDC", "USDT", 500), ("DAI", "USDC", 500))

V2_USD_PER_SIDE = {"uniswap_v2": 2_000_000.0, "sushiswap": 600_000.0}
# Each DEX prices the non-stable token slightly differently (multiplier on its USD price).
DEX_PRICE_SKEW = {"uniswap_v2": 1.0, "sushiswap": 1.004, "uniswap_v3": 0.998}
V3_RANGES = {
    500: (RangeSpec("narrow", 30, 30_000.0), RangeSpec("middle", 600, 300_000.0), RangeSpec("full", None, 600_000.0)),
    3000: (RangeSpec("narrow", 60, 20_000.0), RangeSpec("middle", 1200, 150_000.0), RangeSpec("full", None, 300_000.0)),
    10000: (RangeSpec("narrow", 200, 10_000.0), RangeSpec("middle", 2400, 60_000.0), RangeSpec("full", None, 150_000.0)),
}
STABLES = frozenset({"USDC", "USDT", "DAI"})


def token_spec(symbol: str) -> TokenSpec:
    for token in ALL_TOKENS:
        if token.symbol == symbol:
            return token
    raise KeyError(f"no devnet token {symbol!r}")


def skewed_usd_price(symbol: str, dex: str) -> float:
    token = token_spec(symbol)
    return token.usd_price if symbol in STABLES else token.usd_price * DEX_PRICE_SKEW[dex]


def raw_amount(symbol: str, usd: float, dex: str) -> int:
    token = token_spec(symbol)
    return int(decimal.Decimal(usd / skewed_usd_price(symbol, dex)) * 10 ** token.decimals)


def raw_price(token0: str, token1: str, dex: str) -> decimal.Decimal:
    """Raw units of token1 per raw unit of token0 (what a V3 pool's price means)."""
    t0, t1 = token_spec(token0), token_spec(token1)
    usd_ratio = decimal.Decimal(skewed_usd_price(token0, dex)) / decimal.Decimal(skewed_usd_price(token1, dex))
    return usd_ratio * decimal.Decimal(10) ** (t1.decimals - t0.decimals)


def sqrt_price_x96(price: decimal.Decimal) -> int:
    with decimal.localcontext() as ctx:
        ctx.prec = 80
        return int(price.sqrt() * (decimal.Decimal(2) ** 96))


def tick_at_price(price: decimal.Decimal) -> int:
    return math.floor(math.log(float(price)) / math.log(1.0001))


def range_ticks(current_tick: int, fee_pips: int, half_width_ticks: int | None) -> tuple[int, int]:
    """Tick bounds aligned outward to the fee tier's spacing; full range when width is None."""
    spacing = V3_TICK_SPACING[fee_pips]
    if half_width_ticks is None:
        return -(MAX_TICK // spacing) * spacing, (MAX_TICK // spacing) * spacing
    lower = math.floor((current_tick - half_width_ticks) / spacing) * spacing
    upper = math.ceil((current_tick + half_width_ticks) / spacing) * spacing
    if upper == lower:
        upper += spacing
    return lower, upper
