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

    def _extend(self, state: V3PoolState, amount: int | None = None, exact_input: bool = True,
                limit_key: int | None = None, limit_key_f: float | None = None,
                max_steps: int = MAX_WALK_STEPS) -> bool:
        """Append full steps while the walk is shorter than ``max_steps`` (and MAX_WALK_STEPS)
        and, once it has one, its last step reaches none of the targets given: ``amount``
        (cumulative cost, or output when not ``exact_input``), ``limit_key`` (a price_key),
        ``limit_key_f`` (a price_key_f). False once the walk has ended (the loop must take
        over), else True. The caller holds the lock.

        One loop with the running state in locals: the callers' loops used to call a one-step
        method and read the last step back from the lists every time."""
        if self._ended:
            return False
        if max_steps > MAX_WALK_STEPS:
            max_steps = MAX_WALK_STEPS
        cost_end, out_end, price_key, price_key_f = self.cost_end, self.out_end, self.price_key, self.price_key_f
        steps = len(cost_end)
        if steps >= max_steps:
            return True
        zero_for_one = self._zero_for_one
        if steps:
            price, tick, liquidity = self.price_end[-1], self.tick_end[-1], self.liquidity_end[-1]
            cost, out, fee_total = cost_end[-1], out_end[-1], self.fee_end[-1]
            most = self.liquidity_max_f[-1]
            if ((amount is not None and (cost if exact_input else out) >= amount)
                    or (limit_key is not None and price_key[-1] >= limit_key)
                    or (limit_key_f is not None and price_key_f[-1] >= limit_key_f)):
                return True
        else:
            price, tick, liquidity = state.sqrt_price_x96, state.tick, state.liquidity
            cost = out = fee_total = 0
            most = None
        spacing = state.tick_spacing
        fee_pips = state.fee_pips
        pips_less_fee = 1_000_000 - fee_pips
        words = state.bitmap_words
        nets = state.liquidity_net_by_tick
        word_range = state.complete_word_range
        sqrt_at = get_sqrt_ratio_at_tick
        crossed_ticks = self.crossed_ticks
        add_cost, add_out, add_fee = cost_end.append, out_end.append, self.fee_end.append
        add_key, add_price, add_tick = price_key.append, self.price_end.append, self.tick_end.append
        add_liquidity, add_crossed = self.liquidity_end.append, self.crossed_end.append
        add_cost_f, add_out_f, add_price_f = self.cost_end_f.append, self.out_end_f.append, self.price_end_f.append
        add_liquidity_f, add_key_f, add_most = (self.liquidity_end_f.append, self.price_key_f.append,
                                                self.liquidity_max_f.append)
        while steps < max_steps:
            compressed = tick // spacing
            if not zero_for_one:
                compressed += 1
            bit_pos = compressed & 0xFF
            word_pos = compressed >> 8
            word = words.get(word_pos)
            if word is None:
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
            sqrt_next = sqrt_at(tick_next)
            if zero_for_one:
                amount_in = -((-(liquidity << 96) * (price - sqrt_next)) // (sqrt_next * price))
                amount_out = (liquidity * (price - sqrt_next)) >> 96
            else:
                amount_in = -((-liquidity * (sqrt_next - price)) >> 96)
                amount_out = ((liquidity << 96) * (sqrt_next - price)) // (sqrt_next * price)
            fee = -((-amount_in * fee_pips) // pips_less_fee)
            if initialized:
                net = nets.get(tick_next)
                if net is None:
                    self._ended = True
                    return False
                liquidity_after = liquidity - net if zero_for_one else liquidity + net
                if not 0 <= liquidity_after <= MAX_UINT128:
                    self._ended = True
                    return False
                crossed_ticks.append(tick_next)
            else:
                liquidity_after = liquidity
            cost += amount_in + fee
            out += amount_out
            fee_total += fee
            price_f = sqrt_next / _Q96_FLOAT
            liquidity_f = float(liquidity_after)
            key_f = -price_f if zero_for_one else price_f
            key = -sqrt_next if zero_for_one else sqrt_next
            most = liquidity_f if most is None or liquidity_f > most else most
            add_cost(cost)
            add_out(out)
            add_fee(fee_total)
            add_key(key)
            add_price(sqrt_next)
            add_tick(tick_next - 1 if zero_for_one else tick_next)
            add_liquidity(liquidity_after)
            add_cost_f(float(cost))
            add_out_f(float(out))
            add_price_f(price_f)
            add_liquidity_f(liquidity_f)
            add_key_f(key_f)
            add_most(most)
            add_crossed(len(crossed_ticks))  # last: its length counts complete steps only
            steps += 1
            price, liquidity = sqrt_next, liquidity_after
            tick = tick_next - 1 if zero_for_one else tick_next
            if ((amount is not None and (cost if exact_input else out) >= amount)
                    or (limit_key is not None and key >= limit_key)
                    or (limit_key_f is not None and key_f >= limit_key_f)):
                break
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
                self._extend(state, amount, exact_input, limit_key)
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
        walked = len(self.crossed_end)
        if walked and keys[walked - 1] >= limit_key:
            return True
        if walked >= max_steps or self._ended:
            return False
        with self._lock:
            self._extend(state, limit_key_f=limit_key, max_steps=max_steps)
        return bool(self.crossed_end) and keys[len(self.crossed_end) - 1] >= limit_key
