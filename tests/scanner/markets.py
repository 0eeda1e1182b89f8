"""Random in-memory markets for the scanner's exactness tests (no chain: pure search logic).

Like bench/scanner.py's market, smaller: WETH plus tokens of 6, 8 and 18 decimals, each paired
with WETH on V2 and V3 pools and with each other here and there, V3 pools holding a full-range
position and random ranges around the price (so sizes cross initialised ticks). Prices carry a
random skew per pool, large enough that many cycles are profitable and many are not.
"""

from __future__ import annotations

import math
import random

import attrs

from mevbot.pricing.tick_math import MAX_TICK, get_tick_at_sqrt_ratio
from mevbot.pricing.v2 import V2PoolState
from mevbot.pricing.v3_pool import V3PoolState, v3_state_from_positions

SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
# symbol, decimals, USD price
TOKENS = [("WETH", 18, 3000.0), ("USDC", 6, 1.0), ("WBTC", 8, 60000.0), ("ARB", 18, 0.8), ("PEPE", 18, 1e-5)]


@attrs.frozen
class MarketPool:
    address: str
    token0: str
    token1: str
    dex: str


@attrs.frozen
class Market:
    weth: str
    pools: tuple[MarketPool, ...]
    states: dict

    def view(self, pool: str):
        return self.states.get(pool.lower())


def random_market(rng: random.Random, *, skew: float = 0.004, cross_pools: int = 4) -> Market:
    tokens = {sym: ("0x" + rng.randbytes(20).hex(), dec, usd) for sym, dec, usd in TOKENS}
    specs = []
    for sym, _, _ in TOKENS[1:]:
        for dex, fee in (("uniswap_v2", 3000), ("sushiswap", 3000), ("uniswap_v3", 500), ("uniswap_v3", 3000)):
            if rng.random() < 0.8:
                specs.append((sym, "WETH", dex, fee))
    others = [sym for sym, _, _ in TOKENS[1:]]
    for _ in range(cross_pools):
        a, b = rng.sample(others, 2)
        specs.append((a, b, rng.choice(["uniswap_v2", "uniswap_v3"]), rng.choice([500, 3000, 10000])))
    pools, states = [], {}
    for a, b, dex, fee in specs:
        (addr_a, dec_a, usd_a), (addr_b, dec_b, usd_b) = tokens[a], tokens[b]
        if addr_a > addr_b:
            (addr_a, dec_a, usd_a), (addr_b, dec_b, usd_b) = (addr_b, dec_b, usd_b), (addr_a, dec_a, usd_a)
        address = "0x" + rng.randbytes(20).hex()
        tvl_usd = 10 ** rng.uniform(4.5, 6.5)
        price = usd_a / usd_b * 10 ** (dec_b - dec_a) * math.exp(rng.gauss(0, skew))
        x = tvl_usd / 2 / usd_a * 10**dec_a
        if dex == "uniswap_v3":
            states[address] = v3_state(rng, price, math.sqrt(x * x * price), fee)
        else:
            states[address] = V2PoolState(int(x), int(x * price))
        pools.append(MarketPool(address, addr_a, addr_b, dex))
    return Market(tokens["WETH"][0], tuple(pools), states)


def v3_state(rng: random.Random, price: float, full_range_liquidity: float, fee: int) -> V3PoolState:
    spacing = SPACING[fee]
    sqrt_price = int(math.sqrt(price) * 2**96)
    tick = get_tick_at_sqrt_ratio(sqrt_price)
    low_usable, high_usable = -(MAX_TICK // spacing) * spacing, (MAX_TICK // spacing) * spacing
    ranges = [(low_usable, high_usable, int(full_range_liquidity * rng.uniform(0.1, 0.6)))]
    for _ in range(rng.randrange(5, 30)):
        low = (tick + rng.randrange(-3000, 3000)) // spacing * spacing
        high = low + spacing * rng.randrange(1, max(2, 900 // spacing))
        ranges.append((max(low, low_usable), min(high, high_usable),
                       int(full_range_liquidity * rng.uniform(0.02, 0.8))))
    return v3_state_from_positions(sqrt_price, fee, spacing, ranges)
