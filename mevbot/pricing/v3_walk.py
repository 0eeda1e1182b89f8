"""Memoised full steps of a V3 swap, so repeated quotes on one pool state skip the tick walk.

The scanner prices the same pool state many times per event (every cycle through the pool,
every trial amount of a size search). For a given state and direction the swap loop's steps
are the same whatever the amount, up to the step where the amount runs out or the price limit
is reached: each *full* step goes from one stop (initialised tick or word edge) to the next,
and its amountIn, amountOut and fee do not depend on the amount. ``SwapWalk`` records, after
each full step, the loop's complete state (price, tick, liquidity, cumulative in+fee, out, fee,
ticks crossed), built lazily as far as a quote needs.

A quote then fast-forwards to the last step it consumes in full, found by bisection, and the
ordinary loop runs from there. A step is consumed in full exactly when:

- exact input: the remaining amount before it is >= its amountIn + fee. The pool reaches the
  target iff floor(rem * (1e6 - fee) / 1e6) >= amountIn, i.e. rem >= ceil(amountIn * 1e6 /
  (1e6 - fee)) = amountIn + ceil(amountIn * fee / (1e6 - fee)), the full step's fee. So the
  cumulative cost through step j is the threshold, and the remaining amount before step j must
  also be non-zero (the loop stops at zero, even in front of a free step).
- exact output: the remaining amount before it is >= its amountOut to the target. (A smaller
  amount can still land exactly on the target by rounding; the fast-forward leaves that case,
  and every other edge, to the ordinary loop.)
- and its stop lies strictly before the price limit, so its target was not the limit.

The walk never raises: where the loop would need a word or liquidityNet we lack, or would
revert crossing a tick, the walk stops, and the ordinary loop then meets the same condition
and raises exactly as it would have without the walk.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

from mevbot.pricing.full_math import MAX_UINT128
from mevbot.pricing.tick_math import MAX_TICK, MIN_TICK, get_sqrt_ratio_at_tick

if TYPE_CHECKING:
    from mevbot.pricing.v3_pool import V3PoolState

# Bound on memoised steps per state and direction; a walk this long is left to the loop.
MAX_WALK_STEPS = 4096
_Q96_FLOAT = float(1 << 96)


class SwapWalk:
    """Checkpoints after each full step from one state in one direction (see module doc)."""

    __slots__ = (
        "_zero_for_one",
        "_ended",
        "cost_end",
        "out_end",
        "fee_end",
        "price_key",
        "price_end",
        "tick_end",
        "liquidity_end",
        "crossed_end",
        "crossed_ticks",
        "cost_end_f",
        "out_end_f",
        "price_end_f",
        "liquidity_end_f",
        "price_key_f",
        "liquidity_max_f",
        "_lock",
    )

    def __init__(self, zero_for_one: bool) -> None:
        # No reference back to the state that owns this walk: no cycle, so a replaced state
        # and its walks are freed at once rather than by the cyclic collector.
        self._zero_for_one = zero_for_one
        self._ended = False
        self.cost_end: list[int] = []  # cumulative amountIn + fee through each step
        self.out_end: list[int] = []  # cumulative amountOut
        self.fee_end: list[int] = []
        self.price_key: list[int] = []  # stop price, negated for zeroForOne so it increases
        self.price_end: list[int] = []
        self.tick_end: list[int] = []
        self.liquidity_end: list[int] = []
        self.crossed_end: list[int] = []  # len(crossed_ticks) after each step
        self.crossed_ticks: list[int] = []
        # The same as floats (price / 2^96), for the scanner's float estimates
        # (estimate_v3_exact_input): a bisection over floats, no int-to-float conversions.
        self.cost_end_f: list[float] = []
        self.out_end_f: list[float] = []
        self.price_end_f: list[float] = []
        self.liquidity_end_f: list[float] = []
        # For the scanner's profit bound (Scanner._candidate): the stop prices as floats, negated
        # for zeroForOne so they increase (bisectable), and the running maximum of the liquidity
        # after each stop (the most any segment up to it holds, the start's excluded).
        self.price_key_f: list[float] = []
        self.liquidity_max_f: list[float] = []
        # Quotes are pure reads once a walk is built; only extending takes the lock, so a
        # state shared with a worker thread never sees a half-appended step.
        self._lock = threading.Lock()

    def _extend(self, state: V3PoolState) -> bool:
        """Append one full step; False (and stay ended) when the loop must take over."""
        if self._ended or len(self.cost_end) >= MAX_WALK_STEPS:
            return False
        zero_for_one = self._zero_for_one
        if self.cost_end:
            price, tick, liquidity = self.price_end[-1], self.tick_end[-1], self.liquidity_end[-1]
            cost, out, fee_total = self.cost_end[-1], self.out_end[-1], self.fee_end[-1]
        else:
            price, tick, liquidity = state.sqrt_price_x96, state.tick, state.liquidity
            cost = out = fee_total = 0
        spacing = state.tick_spacing
        compressed = tick // spacing
        if not zero_for_one:
            compressed += 1
        bit_pos = compressed & 0xFF
        word_pos = compressed >> 8
        word = state.bitmap_words.get(word_pos)
        if word is None:
            word_range = state.complete_word_range
            if word_range is None or not word_range[0] <= word_pos <= word_range[1]:
                self._ended = True
                return False
            word = 0
        if zero_for_one:
            masked = word & ((2 << bit_pos) - 1)
            initialized = masked != 0
            tick_next = (compressed - bit_pos + (masked.bit_length() - 1 if initialized else 0)) * spacing
        else:
            masked = word >> bit_pos
            initialized = masked != 0
            offset = (masked & -masked).bit_length() - 1 if initialized else 255 - bit_pos
            tick_next = (compressed + offset) * spacing
        if tick_next <= MIN_TICK or tick_next >= MAX_TICK:
            # The bound's price is never strictly inside a valid limit: the loop finishes here.
            self._ended = True
            return False
        sqrt_next = get_sqrt_ratio_at_tick(tick_next)
        fee_pips = state.fee_pips
        if zero_for_one:
            amount_in = -((-(liquidity << 96) * (price - sqrt_next)) // (sqrt_next * price))
            amount_out = (liquidity * (price - sqrt_next)) >> 96
        else:
            amount_in = -((-liquidity * (sqrt_next - price)) >> 96)
            amount_out = ((liquidity << 96) * (sqrt_next - price)) // (sqrt_next * price)
        fee = -((-amount_in * fee_pips) // (1_000_000 - fee_pips))
        if initialized:
            net = state.liquidity_net_by_tick.get(tick_next)
            if net is None:
                self._ended = True
                return False
            liquidity_after = liquidity - net if zero_for_one else liquidity + net
            if not 0 <= liquidity_after <= MAX_UINT128:
                self._ended = True
                return False
            self.crossed_ticks.append(tick_next)
        else:
            liquidity_after = liquidity
        self.cost_end.append(cost + amount_in + fee)
        self.out_end.append(out + amount_out)
        self.fee_end.append(fee_total + fee)
        self.price_key.append(-sqrt_next if zero_for_one else sqrt_next)
        self.price_end.append(sqrt_next)
        self.tick_end.append(tick_next - 1 if zero_for_one else tick_next)
        self.liquidity_end.append(liquidity_after)
        self.cost_end_f.append(float(cost + amount_in + fee))
        self.out_end_f.append(float(out + amount_out))
        self.price_end_f.append(sqrt_next / _Q96_FLOAT)
        self.liquidity_end_f.append(float(liquidity_after))
        self.price_key_f.append(-sqrt_next / _Q96_FLOAT if zero_for_one else sqrt_next / _Q96_FLOAT)
        most = self.liquidity_max_f
        most.append(max(most[-1], float(liquidity_after)) if most else float(liquidity_after))
        self.crossed_end.append(len(self.crossed_ticks))
        return True

    def full_steps(self, state: V3PoolState, exact_input: bool, amount: int, limit: int) -> int:
        """How many leading steps a swap of |amount| (>0) with this limit consumes in full.

        ``state`` must be the state this walk was made for (the one holding it).
        """
        cumulative = self.cost_end if exact_input else self.out_end
        limit_key = -limit if self._zero_for_one else limit
        price_key = self.price_key
        if not self._ended and (
            not self.crossed_end or (cumulative[-1] < amount and price_key[-1] < limit_key)
        ):
            with self._lock:
                while (
                    not self.crossed_end or (cumulative[-1] < amount and price_key[-1] < limit_key)
                ) and self._extend(state):
                    pass
        # crossed_end is appended last, so its length counts only complete steps.
        steps = len(self.crossed_end)
        before_limit = bisect_left(price_key, limit_key, 0, steps)
        full = bisect_right(cumulative, amount, 0, steps)
        # Step j also needs a non-zero remainder before it: cumulative through j-1 < amount.
        started = 1 + bisect_left(cumulative, amount, 0, steps)
        return min(before_limit, full, started)

    def extend_past(self, state: V3PoolState, limit_key: float, max_steps: int) -> bool:
        """Walk on until a stop's ``price_key_f`` reaches ``limit_key``, keeping the walk at
        most ``max_steps`` long: whether one does (the scanner's profit bound, which would
        rather have no bound than walk far for it)."""
        keys = self.price_key_f
        if self.crossed_end and keys[len(self.crossed_end) - 1] >= limit_key:
            return True
        with self._lock:
            while len(self.cost_end) < max_steps and self._extend(state):
                if keys[-1] >= limit_key:
                    return True
        return bool(self.crossed_end) and keys[len(self.crossed_end) - 1] >= limit_key
