"""Random V3 pools for tests and the benchmark: positions -> liquidityNet, bitmap, slot0."""

from __future__ import annotations

import random

from mevbot.pricing import V3PoolState
from mevbot.pricing.tick_bitmap import flip_tick
from mevbot.pricing.tick_math import MAX_TICK, MIN_TICK, get_sqrt_ratio_at_tick, get_tick_at_sqrt_ratio


def random_v3_pool(
    rng: random.Random,
    *,
    tick_spacing: int | None = None,
    positions: int = 40,
    spread_ticks: int = 20_000,
    full_range: bool = True,
) -> tuple[V3PoolState, dict[int, int]]:
    """A pool with ``positions`` random ranges around a random price; returns (state, liquidity_net).

    liquidity_net holds every initialised tick, including ones whose net is zero (two
    positions meeting at a tick with equal liquidity): the pool keeps those in its bitmap.
    """
    spacing = tick_spacing or rng.choice([1, 10, 60, 200])
    fee_pips = {1: 100, 10: 500, 60: 3000, 200: 10000}.get(spacing, 3000)
    centre = rng.randrange(-400_000, 400_000)
    min_usable = -(-MIN_TICK // spacing) * spacing
    max_usable = (MAX_TICK // spacing) * spacing
    net: dict[int, int] = {}
    ranges = []
    for _ in range(positions):
        low = centre + rng.randrange(-spread_ticks, spread_ticks)
        high = low + rng.randrange(1, spread_ticks // 2 + 2)
        low = max(min_usable, (low // spacing) * spacing)
        high = min(max_usable, max(low + spacing, (high // spacing) * spacing))
        ranges.append((low, high, rng.randrange(1, 10**24)))
    if full_range:
        ranges.append((min_usable, max_usable, rng.randrange(10**15, 10**21)))
    # Sometimes make two ranges meet at one tick with equal liquidity: initialised, net zero.
    if len(ranges) >= 2 and rng.random() < 0.5:
        low, high, amount = ranges[0]
        ranges[1] = (high, min(max_usable, high + 10 * spacing), amount)
    for low, high, amount in ranges:
        net[low] = net.get(low, 0) + amount
        net[high] = net.get(high, 0) - amount
    price_tick = centre + rng.randrange(-spread_ticks // 2, spread_ticks // 2)
    low_price = get_sqrt_ratio_at_tick(price_tick)
    sqrt_price = low_price + rng.randrange(0, get_sqrt_ratio_at_tick(price_tick + 1) - low_price)
    tick = get_tick_at_sqrt_ratio(sqrt_price)
    liquidity = sum(amount for low, high, amount in ranges if low <= tick < high)
    words: dict[int, int] = {}
    for t in net:
        flip_tick(words, t, spacing)
    word_range = ((MIN_TICK // spacing) >> 8, (MAX_TICK // spacing) >> 8)
    state = V3PoolState(
        sqrt_price_x96=sqrt_price,
        tick=tick,
        liquidity=liquidity,
        fee_pips=fee_pips,
        tick_spacing=spacing,
        bitmap_words={w: v for w, v in words.items() if v},
        liquidity_net_by_tick=net,
        complete_word_range=word_range,
    )
    return state, net
