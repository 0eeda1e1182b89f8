"""A slow, independent V3 swap walker used only to cross-check ``simulate_v3_swap``.

Written differently on purpose: initialised ticks are a sorted list searched with ``bisect``
(no bitmap words), every amount and price is the exact rational formula from the whitepaper
rounded once with integer floor/ceil (no FullMath), and the tick after a partial step is found
by bisection over ``get_sqrt_ratio_at_tick`` (no log2). What it must share with the pool is
what the pool's *behaviour* is: it stops where the pool stops (each initialised tick and each
256-tick bitmap word edge, since every stop rounds) and rounds in the pool's favour.

Domain: amounts small enough that ``amount * sqrtPrice`` fits in 256 bits (< 2**96 or so), where
the contract never takes its overflow fallback branch, whose rounding this does not model.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from mevbot.pricing.tick_math import MAX_TICK, MIN_TICK, get_sqrt_ratio_at_tick

Q96 = 1 << 96
PIPS = 1_000_000


def _ceil_div(n: int, d: int) -> int:
    return -(-n // d)


def _amount0(a: int, b: int, liquidity: int, up: bool) -> int:
    low, high = min(a, b), max(a, b)
    n, d = liquidity * Q96 * (high - low), low * high
    return _ceil_div(n, d) if up else n // d


def _amount1(a: int, b: int, liquidity: int, up: bool) -> int:
    n = liquidity * (max(a, b) - min(a, b))
    return _ceil_div(n, Q96) if up else n // Q96


def _tick_of(price: int) -> int:
    low, high = MIN_TICK, MAX_TICK
    while low < high:
        mid = (low + high + 1) // 2
        if get_sqrt_ratio_at_tick(mid) <= price:
            low = mid
        else:
            high = mid - 1
    return low


class ReferenceRevert(Exception):
    pass


def _price_after_input(price: int, liquidity: int, amount: int, zero_for_one: bool) -> int:
    if zero_for_one:
        assert amount * price < 2**256, "outside the reference domain"
        return _ceil_div(liquidity * Q96 * price, liquidity * Q96 + amount * price)
    return price + amount * Q96 // liquidity


def _price_after_output(price: int, liquidity: int, amount: int, zero_for_one: bool) -> int:
    if zero_for_one:
        result = price - _ceil_div(amount * Q96, liquidity)
        if result <= 0:
            raise ReferenceRevert("token1 output exceeds the virtual reserve")
        return result
    denominator = liquidity * Q96 - amount * price
    if denominator <= 0:
        raise ReferenceRevert("token0 output exceeds the virtual reserve")
    return _ceil_div(liquidity * Q96 * price, denominator)


def _step(price, target, liquidity, remaining, fee_pips):
    """Return (next_price, amount_in, amount_out, fee) for one range."""
    zero_for_one = target <= price
    amount_in_fn = _amount0 if zero_for_one else _amount1
    amount_out_fn = _amount1 if zero_for_one else _amount0
    if remaining >= 0:
        budget = remaining * (PIPS - fee_pips) // PIPS
        to_target = amount_in_fn(price, target, liquidity, True)
        reached = budget >= to_target
        next_price = target if reached else _price_after_input(price, liquidity, budget, zero_for_one)
        amount_in = to_target if reached else amount_in_fn(price, next_price, liquidity, True)
        amount_out = amount_out_fn(price, next_price, liquidity, False)
        if next_price != target:
            fee = remaining - amount_in
        else:
            fee = _ceil_div(amount_in * fee_pips, PIPS - fee_pips)
        return next_price, amount_in, amount_out, fee
    wanted = -remaining
    to_target = amount_out_fn(price, target, liquidity, False)
    reached = wanted >= to_target
    next_price = target if reached else _price_after_output(price, liquidity, wanted, zero_for_one)
    amount_out = to_target if reached else amount_out_fn(price, next_price, liquidity, False)
    amount_out = min(amount_out, wanted)
    amount_in = amount_in_fn(price, next_price, liquidity, True)
    return next_price, amount_in, amount_out, _ceil_div(amount_in * fee_pips, PIPS - fee_pips)


def reference_swap(
    *,
    sqrt_price_x96: int,
    tick: int,
    liquidity: int,
    fee_pips: int,
    tick_spacing: int,
    liquidity_net: dict[int, int],
    zero_for_one: bool,
    amount_specified: int,
    sqrt_price_limit_x96: int,
) -> dict:
    compressed_ticks = sorted(t // tick_spacing for t in liquidity_net)
    remaining = amount_specified
    paid_in = paid_out = 0
    crossed: list[int] = []
    steps = 0
    price = sqrt_price_x96
    while remaining != 0 and price != sqrt_price_limit_x96:
        steps += 1
        c = tick // tick_spacing
        if zero_for_one:
            edge = (c // 256) * 256
            i = bisect_right(compressed_ticks, c) - 1
            found = i >= 0 and compressed_ticks[i] >= edge
            stop = compressed_ticks[i] if found else edge
        else:
            edge = ((c + 1) // 256) * 256 + 255
            i = bisect_left(compressed_ticks, c + 1)
            found = i < len(compressed_ticks) and compressed_ticks[i] <= edge
            stop = compressed_ticks[i] if found else edge
        next_tick = max(MIN_TICK, min(MAX_TICK, stop * tick_spacing))
        next_price = get_sqrt_ratio_at_tick(next_tick)
        past_limit = next_price < sqrt_price_limit_x96 if zero_for_one else next_price > sqrt_price_limit_x96
        target = sqrt_price_limit_x96 if past_limit else next_price
        start = price
        price, amount_in, amount_out, fee = _step(price, target, liquidity, remaining, fee_pips)
        paid_in += amount_in + fee
        paid_out += amount_out
        remaining = remaining - (amount_in + fee) if amount_specified > 0 else remaining + amount_out
        if price == next_price:
            if found:
                net = liquidity_net[next_tick]
                liquidity += -net if zero_for_one else net
                if liquidity < 0:
                    raise ReferenceRevert("LS")
                crossed.append(next_tick)
            tick = next_tick - 1 if zero_for_one else next_tick
        elif price != start:
            tick = _tick_of(price)
    amount0, amount1 = (paid_in, -paid_out) if zero_for_one else (-paid_out, paid_in)
    return {
        "amount0": amount0,
        "amount1": amount1,
        "sqrt_price_x96": price,
        "tick": tick,
        "liquidity": liquidity,
        "ticks_crossed": tuple(crossed),
        "steps": steps,
    }
