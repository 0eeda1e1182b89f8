"""The whole UniswapV3Pool.swap loop, simulated on an in-memory pool state.

``simulate_v3_swap`` walks the tick bitmap word by word exactly as the pool does (one step per
initialised tick or per word edge, whichever comes first), so the amounts, the final price,
tick and liquidity are integer-identical with the contract and with QuoterV2. Protocol fees,
fee growth and the oracle only change accounting the swap's amounts never read, so they are
left out.

The state holds only what the swap reads: slot0's price and tick, the active liquidity, the
fee and spacing, the bitmap words and each initialised tick's liquidityNet. Words are fetched
lazily: when the walk needs a word that is neither in ``bitmap_words`` nor inside
``complete_word_range``, or crosses an initialised tick whose liquidityNet is unknown, it
raises :class:`MissingTickData`; the pool-state layer fetches that word or tick
(``tickBitmap(int16)`` / ``ticks(int24)``), extends the state with :meth:`V3PoolState.with_data`
and simulates again.

The hot loop is one function with everything in locals and no object built per step, with
SwapMath.computeSwapStep inlined in exact short forms (the literal port in swap_math.py is
checked against it over full uint ranges). Repeated quotes on one state first fast-forward
through the steps they consume in full, memoised per state and direction (v3_walk.py).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping

import attrs

from mevbot.pricing.errors import InvalidPoolState, MissingTickData, SolidityRevert
from mevbot.pricing.full_math import MAX_INT256, MAX_UINT128, MAX_UINT160, MAX_UINT256, MIN_INT256
from mevbot.pricing.sqrt_price_math import get_next_sqrt_price_from_input, get_next_sqrt_price_from_output
from mevbot.pricing.tick_bitmap import flip_tick
from mevbot.pricing.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)
from mevbot.pricing.v3_walk import SwapWalk

_MAX_TICK_SPACING = (1 << 23) - 1


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidPoolState(f"V3PoolState.{name} = {value!r}; expected an int in [{low}, {high}]")


@attrs.frozen
class V3PoolState:
    """What a V3 swap reads from the pool, as of one block (or one speculative swap).

    ``bitmap_words`` maps ``tickBitmap`` word positions to their uint256 words;
    ``liquidity_net_by_tick`` maps initialised ticks to their ``liquidityNet`` (int128).
    ``complete_word_range`` (inclusive) says which words we hold *all* of: a word inside it but
    absent from ``bitmap_words`` is zero; any other absent word is unknown. The mappings are
    shared, never mutated: extend with :meth:`with_data`, which builds new ones.
    """

    sqrt_price_x96: int
    tick: int
    liquidity: int
    fee_pips: int
    tick_spacing: int
    bitmap_words: Mapping[int, int] = attrs.field(factory=dict)
    liquidity_net_by_tick: Mapping[int, int] = attrs.field(factory=dict)
    complete_word_range: tuple[int, int] | None = None
    # Memoised swap walks per direction (v3_walk.py): derived data, fresh on every new state.
    _walks: dict[bool, SwapWalk] = attrs.field(init=False, factory=dict, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        _check_range("sqrt_price_x96", self.sqrt_price_x96, MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1)
        _check_range("tick", self.tick, MIN_TICK, MAX_TICK)
        _check_range("liquidity", self.liquidity, 0, MAX_UINT128)
        _check_range("fee_pips", self.fee_pips, 0, 999_999)
        _check_range("tick_spacing", self.tick_spacing, 1, _MAX_TICK_SPACING)
        # The pool keeps ratio(tick) <= price <= ratio(tick + 1) (equal to the upper end only
        # after crossing a tick downwards). A slot0 read torn across blocks breaks it, and the
        # loop would then walk the bitmap from the wrong place.
        tick = self.tick
        if tick >= MAX_TICK or not (
            get_sqrt_ratio_at_tick(tick) <= self.sqrt_price_x96 <= get_sqrt_ratio_at_tick(tick + 1)
        ):
            raise InvalidPoolState(
                f"V3PoolState.tick = {tick} does not match sqrt_price_x96 = {self.sqrt_price_x96}; expected the "
                f"price in [ratio(tick), ratio(tick + 1)], i.e. tick {get_tick_at_sqrt_ratio(self.sqrt_price_x96)}"
            )

    def with_data(
        self,
        bitmap_words: Mapping[int, int] | None = None,
        liquidity_net_by_tick: Mapping[int, int] | None = None,
        complete_word_range: tuple[int, int] | None = None,
    ) -> V3PoolState:
        """A copy extended with more fetched words / ticks (new entries win)."""
        words = dict(self.bitmap_words)
        words.update(bitmap_words or {})
        nets = dict(self.liquidity_net_by_tick)
        nets.update(liquidity_net_by_tick or {})
        word_range = self.complete_word_range
        if complete_word_range is not None:
            if word_range is None:
                word_range = complete_word_range
            else:
                lo, hi = complete_word_range
                if lo > word_range[1] + 1 or hi < word_range[0] - 1:
                    raise InvalidPoolState(
                        f"complete_word_range {complete_word_range} does not touch the known range {word_range};"
                        " expected a contiguous extension"
                    )
                word_range = (min(lo, word_range[0]), max(hi, word_range[1]))
        return attrs.evolve(
            self, bitmap_words=words, liquidity_net_by_tick=nets, complete_word_range=word_range
        )


@attrs.frozen
class V3SwapResult:
    """The outcome of one simulated swap, signed like the pool's return values.

    ``amount0``/``amount1`` are the pool's deltas: positive is paid into the pool, negative is
    paid out. ``ticks_crossed`` lists the initialised ticks crossed in order (each costs gas);
    ``steps`` counts loop iterations (initialised ticks plus word edges plus the final step).
    ``fee_amount`` is the total fee taken, in the input token.
    """

    amount0: int
    amount1: int
    sqrt_price_x96: int
    tick: int
    liquidity: int
    ticks_crossed: tuple[int, ...]
    steps: int
    fee_amount: int
    zero_for_one: bool

    @property
    def amount_in(self) -> int:
        return self.amount0 if self.zero_for_one else self.amount1

    @property
    def amount_out(self) -> int:
        return -(self.amount1 if self.zero_for_one else self.amount0)


def _spl_revert(zero_for_one: bool, limit: int, price: int) -> SolidityRevert:
    if zero_for_one:
        expected = f"{MIN_SQRT_RATIO} < limit < current price {price}"
    else:
        expected = f"current price {price} < limit < {MAX_SQRT_RATIO}"
    return SolidityRevert("UniswapV3Pool.swap", "SPL", f"sqrtPriceLimitX96 {limit}; expected {expected}")


def simulate_v3_swap(
    state: V3PoolState,
    zero_for_one: bool,
    amount_specified: int,
    sqrt_price_limit_x96: int | None = None,
    *,
    reuse_walk: bool = True,
) -> V3SwapResult:
    """Simulate ``UniswapV3Pool.swap(recipient, zeroForOne, amountSpecified, sqrtPriceLimitX96)``.

    ``amount_specified`` > 0 is exact input, < 0 exact output (as in the pool). Without a
    limit, the widest one the pool accepts is used (MIN+1 / MAX-1, as QuoterV2 does with 0).
    An explicit limit follows the pool, not QuoterV2: 0 is not "no limit" but an 'SPL' revert.
    Raises SolidityRevert ('AS', 'SPL', 'LS'/'LA', math reverts) where the pool would revert,
    MissingTickData when the state does not cover the walk.

    With ``reuse_walk`` (the default) the full steps are memoised on the state and repeated
    quotes fast-forward through them (v3_walk.py); ``False`` runs the plain loop from the
    start, which tests use to check the two agree.
    """
    if amount_specified == 0:
        raise SolidityRevert("UniswapV3Pool.swap", "AS", "amountSpecified must be non-zero")
    if not MIN_INT256 <= amount_specified <= MAX_INT256:
        raise SolidityRevert("UniswapV3Pool.swap", "", f"amountSpecified {amount_specified} is not an int256")
    sqrt_price = state.sqrt_price_x96
    if sqrt_price_limit_x96 is None:
        limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
    else:
        limit = sqrt_price_limit_x96
    if zero_for_one:
        if not (MIN_SQRT_RATIO < limit < sqrt_price):
            raise _spl_revert(zero_for_one, limit, sqrt_price)
    elif not (sqrt_price < limit < MAX_SQRT_RATIO):
        raise _spl_revert(zero_for_one, limit, sqrt_price)

    words = state.bitmap_words
    nets = state.liquidity_net_by_tick
    word_range = state.complete_word_range
    word_lo, word_hi = word_range if word_range is not None else (1, 0)
    spacing = state.tick_spacing
    fee_pips = state.fee_pips
    liquidity = state.liquidity
    tick = state.tick
    exact_input = amount_specified > 0
    remaining = amount_specified
    calculated = 0
    fee_total = 0
    steps = 0
    crossed: list[int] = []
    if reuse_walk:
        walk = state._walks.get(zero_for_one)
        if walk is None:
            walk = state._walks[zero_for_one] = SwapWalk(zero_for_one)
        full = walk.full_steps(state, exact_input, amount_specified if exact_input else -amount_specified, limit)
        if full:
            last = full - 1
            sqrt_price = walk.price_end[last]
            tick = walk.tick_end[last]
            liquidity = walk.liquidity_end[last]
            fee_total = walk.fee_end[last]
            steps = full
            crossed = walk.crossed_ticks[: walk.crossed_end[last]]
            if exact_input:
                remaining = amount_specified - walk.cost_end[last]
                calculated = -walk.out_end[last]
            else:
                remaining = amount_specified + walk.out_end[last]
                calculated = walk.cost_end[last]
    pips_less_fee = 1_000_000 - fee_pips
    sqrt_at = get_sqrt_ratio_at_tick
    next_from_input = get_next_sqrt_price_from_input
    next_from_output = get_next_sqrt_price_from_output

    while remaining != 0 and sqrt_price != limit:
        steps += 1
        price_start = sqrt_price
        # TickBitmap.nextInitializedTickWithinOneWord, inlined (see tick_bitmap.py).
        compressed = tick // spacing
        if zero_for_one:
            bit_pos = compressed & 0xFF
            word_pos = compressed >> 8
        else:
            compressed += 1
            bit_pos = compressed & 0xFF
            word_pos = compressed >> 8
        word = words.get(word_pos)
        if word is None:
            if not word_lo <= word_pos <= word_hi:
                raise MissingTickData(word=word_pos)
            word = 0
        if zero_for_one:
            masked = word & ((2 << bit_pos) - 1)
            initialized = masked != 0
            if initialized:
                tick_next = (compressed - bit_pos + masked.bit_length() - 1) * spacing
            else:
                tick_next = (compressed - bit_pos) * spacing
        else:
            masked = word >> bit_pos
            initialized = masked != 0
            if initialized:
                tick_next = (compressed + (masked & -masked).bit_length() - 1) * spacing
            else:
                tick_next = (compressed + 255 - bit_pos) * spacing
        if tick_next < MIN_TICK:
            tick_next = MIN_TICK
        elif tick_next > MAX_TICK:
            tick_next = MAX_TICK
        sqrt_next = sqrt_at(tick_next)

        if zero_for_one:
            target = limit if sqrt_next < limit else sqrt_next
        else:
            target = limit if sqrt_next > limit else sqrt_next
        # SwapMath.computeSwapStep, inlined and specialised (see swap_math.py for the literal
        # port). Two facts make the short forms exact: nested floor (ceil) divisions equal one
        # floor (ceil) division, floor(floor(x/b)/a) == floor(x/(a*b)), so getAmount0Delta is
        # one division by a*b; and no mulDiv here can exceed 256 bits (amount0 < 2^224,
        # amount1 < 2^192, amountRemaining < 2^255), so none of their overflow reverts can fire.
        # The rare partial step calls the library for the next price, overflow branches and all.
        if exact_input:
            less_fee = remaining * pips_less_fee // 1_000_000
            if zero_for_one:
                amount_in = -((-(liquidity << 96) * (sqrt_price - target)) // (target * sqrt_price))
                if less_fee >= amount_in:
                    price_next = target
                else:
                    price_next = next_from_input(sqrt_price, liquidity, less_fee, True)
                    amount_in = -((-(liquidity << 96) * (sqrt_price - price_next)) // (price_next * sqrt_price))
                amount_out = (liquidity * (sqrt_price - price_next)) >> 96
            else:
                amount_in = -((-liquidity * (target - sqrt_price)) >> 96)
                if less_fee >= amount_in:
                    price_next = target
                else:
                    price_next = next_from_input(sqrt_price, liquidity, less_fee, False)
                    amount_in = -((-liquidity * (price_next - sqrt_price)) >> 96)
                amount_out = ((liquidity << 96) * (price_next - sqrt_price)) // (price_next * sqrt_price)
            if price_next != target:
                fee_amount = remaining - amount_in
            else:
                fee_amount = -((-amount_in * fee_pips) // pips_less_fee)
            remaining -= amount_in + fee_amount
            calculated -= amount_out
        else:
            wanted = -remaining
            if zero_for_one:
                amount_out = (liquidity * (sqrt_price - target)) >> 96
                if wanted >= amount_out:
                    price_next = target
                else:
                    price_next = next_from_output(sqrt_price, liquidity, wanted, True)
                    amount_out = (liquidity * (sqrt_price - price_next)) >> 96
                amount_in = -((-(liquidity << 96) * (sqrt_price - price_next)) // (price_next * sqrt_price))
            else:
                amount_out = ((liquidity << 96) * (target - sqrt_price)) // (target * sqrt_price)
                if wanted >= amount_out:
                    price_next = target
                else:
                    price_next = next_from_output(sqrt_price, liquidity, wanted, False)
                    amount_out = ((liquidity << 96) * (price_next - sqrt_price)) // (price_next * sqrt_price)
                amount_in = -((-liquidity * (price_next - sqrt_price)) >> 96)
            if amount_out > wanted:
                amount_out = wanted
            fee_amount = -((-amount_in * fee_pips) // pips_less_fee)
            if fee_amount > MAX_UINT256:
                raise SolidityRevert("FullMath.mulDivRoundingUp", "", f"swap fee on {amount_in} overflows uint256")
            remaining += amount_out
            calculated += amount_in + fee_amount
        sqrt_price = price_next
        fee_total += fee_amount

        if sqrt_price == sqrt_next:
            if initialized:
                net = nets.get(tick_next)
                if net is None:
                    raise MissingTickData(tick=tick_next)
                if zero_for_one:
                    net = -net
                new_liquidity = liquidity + net
                if new_liquidity < 0 or new_liquidity > MAX_UINT128:
                    reason = "LS" if net < 0 else "LA"
                    raise SolidityRevert(
                        "LiquidityMath.addDelta", reason, f"liquidity {liquidity} + {net} crossing tick {tick_next}"
                    )
                liquidity = new_liquidity
                crossed.append(tick_next)
            tick = tick_next - 1 if zero_for_one else tick_next
        elif sqrt_price != price_start:
            tick = get_tick_at_sqrt_ratio(sqrt_price)

    if not MIN_INT256 <= calculated <= MAX_INT256:
        raise SolidityRevert("UniswapV3Pool.swap", "", f"amountCalculated {calculated} overflows int256")
    if zero_for_one == exact_input:
        amount0, amount1 = amount_specified - remaining, calculated
    else:
        amount0, amount1 = calculated, amount_specified - remaining
    return V3SwapResult(
        amount0, amount1, sqrt_price, tick, liquidity, tuple(crossed), steps, fee_total, zero_for_one
    )


def quote_v3_exact_input(state: V3PoolState, zero_for_one: bool, amount_in: int) -> tuple[int, int, int, int, int]:
    """``(amount_out, sqrt_price_x96, liquidity, ticks_crossed, full_steps)`` of an exact-input swap, no limit.

    The same numbers as :func:`simulate_v3_swap` (``amount_out``, the final price and liquidity,
    ``len(ticks_crossed)``) for ``amount_in > 0`` and the widest limit, built for the scanner's
    size search, which quotes thousands of amounts per event: no result object and no final
    tick (getTickAtSqrtRatio), which a quote never reads. The memoised walk fast-forwards
    through the steps the amount consumes in full; the one step it ends in is then partial by
    the walk's own criterion (the amount is below the cumulative cost through that step), so it
    is the loop's partial step: the library's next price from the input, the output to it. When
    the walk cannot say (unknown words or ticks ahead, the price bounds, a crossing that would
    revert), this calls :func:`simulate_v3_swap`, which raises exactly as the pool would.

    ``full_steps`` counts the loop steps (stops at initialised ticks and word edges) the swap
    consumed in full, i.e. which price segment it ended in: two amounts with the same count end
    in the same segment, where the output is one constant-product curve. It is -1 when the loop
    answered instead of the walk.
    """
    if amount_in <= 0 or amount_in > MAX_INT256:
        result = simulate_v3_swap(state, zero_for_one, amount_in)  # raises as the pool does
        return result.amount_out, result.sqrt_price_x96, result.liquidity, len(result.ticks_crossed), -1
    walk = state._walks.get(zero_for_one)
    if walk is None:
        walk = state._walks[zero_for_one] = SwapWalk(zero_for_one)
    cost_end = walk.cost_end
    walked = len(walk.crossed_end)  # appended last: counts complete steps only
    if walked and cost_end[walked - 1] > amount_in:
        # Walked past the amount already: WalkSteps.full_steps without the extension. With the
        # widest limit every walked stop lies before it, so only the amount decides.
        full = bisect_right(cost_end, amount_in, 0, walked)
        if full and cost_end[full - 1] == amount_in:
            # Only an amount equal to a cumulative cost can have a zero remainder in front of a
            # step (a free one): otherwise bisect_left equals bisect_right and this changes nothing.
            started = 1 + bisect_left(cost_end, amount_in, 0, walked)
            if started < full:
                full = started
    else:
        limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
        full = walk.full_steps(state, True, amount_in, limit)
        walked = len(walk.crossed_end)
    if full:
        last = full - 1
        remaining = amount_in - cost_end[last]
        out = walk.out_end[last]
        price = walk.price_end[last]
        liquidity = walk.liquidity_end[last]
        crossed = walk.crossed_end[last]
        if remaining == 0:
            return out, price, liquidity, crossed, full
    else:
        remaining, out = amount_in, 0
        price, liquidity, crossed = state.sqrt_price_x96, state.liquidity, 0
    if walked <= full:  # the step it ends in is not walked: let the loop decide
        result = simulate_v3_swap(state, zero_for_one, amount_in)
        return result.amount_out, result.sqrt_price_x96, result.liquidity, len(result.ticks_crossed), -1
    # The partial step: remaining < its full cost, so liquidity > 0 (a step with none costs 0).
    less_fee = remaining * (1_000_000 - state.fee_pips) // 1_000_000
    if zero_for_one:
        # getNextSqrtPriceFromAmount0RoundingUp's usual branch, inlined; the library otherwise
        numerator1 = liquidity << 96
        product = less_fee * price
        denominator = numerator1 + product
        if less_fee == 0:
            price_next = price
        elif denominator <= MAX_UINT256:
            price_next = -((-numerator1 * price) // denominator)
        else:
            price_next = get_next_sqrt_price_from_input(price, liquidity, less_fee, True)
        out += (liquidity * (price - price_next)) >> 96
    else:
        if less_fee <= MAX_UINT160:
            price_next = price + (less_fee << 96) // liquidity
            if price_next > MAX_UINT160:
                price_next = get_next_sqrt_price_from_input(price, liquidity, less_fee, False)  # its revert
        else:
            price_next = get_next_sqrt_price_from_input(price, liquidity, less_fee, False)
        out += ((liquidity << 96) * (price_next - price)) // (price_next * price)
    if out > MAX_INT256:
        raise SolidityRevert("UniswapV3Pool.swap", "", f"amountCalculated {-out} overflows int256")
    return out, price_next, liquidity, crossed, full


_Q96_FLOAT = float(1 << 96)


def estimate_v3_exact_input(state: V3PoolState, zero_for_one: bool,
                            amount_in: float) -> tuple[float, float, float, int] | None:
    """A float estimate of an exact-input swap, no limit, for a size search's trial points:
    ``(amount_out, sqrt price after / 2^96, liquidity after, full_steps)``, or None when the
    memoised walk (v3_walk.py) cannot say where the amount ends (unknown words or ticks ahead,
    the price bounds).

    The same segment as :func:`quote_v3_exact_input` (``full_steps``, the price segment the swap
    ends in; an amount within float rounding of a stop may be placed on either side of it) and,
    within it, the real-valued constant-product step the integer one rounds: amounts and prices
    to float precision, never to the wei. It bisects the walk's float copies of its stops. Nothing reported is computed here:
    the scanner uses it to choose where to simulate exactly, and only there.
    """
    walk = state._walks.get(zero_for_one)
    if walk is None:
        walk = state._walks[zero_for_one] = SwapWalk(zero_for_one)
    cost_end = walk.cost_end_f
    walked = len(walk.crossed_end)
    if not walked or cost_end[walked - 1] <= amount_in:
        if not amount_in < 1e77:  # above int256: the pool's revert, the exact quote's business
            return None
        limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
        walk.full_steps(state, True, int(amount_in) + 1, limit)
        walked = len(walk.crossed_end)
        if not walked or cost_end[walked - 1] <= amount_in:
            return None  # the walk ended before the amount: where it ends is not known here
    full = bisect_right(cost_end, amount_in, 0, walked)
    if full:
        last = full - 1
        remaining = amount_in - cost_end[last]
        out = walk.out_end_f[last]
        price = walk.price_end_f[last]
        liquidity = walk.liquidity_end_f[last]
    else:
        remaining, out = amount_in, 0.0
        price, liquidity = state.sqrt_price_x96 / _Q96_FLOAT, float(state.liquidity)
    # the fee factor first, as the scanner's inlined copy of this (Scanner._presearch) computes
    # it: the same float whether or not the walk had to be extended for this amount
    less_fee = remaining * ((1_000_000 - state.fee_pips) / 1_000_000)
    # out = L*(sqrtP - sqrtP') and L*(1/sqrtP - 1/sqrtP'), written without the difference (which
    # cancels to nothing for a small amount): in*sqrtP*sqrtP' and in/(sqrtP*sqrtP')
    if zero_for_one:  # sqrtP' = L*sqrtP / (L + in*sqrtP)
        price_next = liquidity * price / (liquidity + less_fee * price)
        out += less_fee * price * price_next
    else:  # sqrtP' = sqrtP + in/L
        price_next = price + less_fee / liquidity
        out += less_fee / (price * price_next)
    return out, price_next, liquidity, full


def apply_v3_swap(state: V3PoolState, result: V3SwapResult) -> V3PoolState:
    """The pool state after ``result`` (from ``simulate_v3_swap(state, ...)``) is executed.

    Swaps never change the bitmap or any liquidityNet, so the mappings are shared.
    """
    return attrs.evolve(
        state, sqrt_price_x96=result.sqrt_price_x96, tick=result.tick, liquidity=result.liquidity
    )


def v3_state_from_positions(sqrt_price_x96: int, fee_pips: int, tick_spacing: int,
                            positions: Iterable[tuple[int, int, int]]) -> V3PoolState:
    """The state of a V3 pool holding ``positions`` (``(tick_lower, tick_upper, liquidity)``) at
    ``sqrt_price_x96``, as the pool's mints would leave it: liquidityNet per boundary tick, those
    ticks flipped in the bitmap, the in-range liquidity, and every bitmap word known. For the
    benchmarks and tests that build markets in memory."""
    tick = get_tick_at_sqrt_ratio(sqrt_price_x96)
    positions = list(positions)
    net: dict[int, int] = defaultdict(int)
    for low, high, liquidity in positions:
        net[low] += liquidity
        net[high] -= liquidity
    words: dict[int, int] = {}
    for t in net:
        flip_tick(words, t, tick_spacing)
    return V3PoolState(sqrt_price_x96=sqrt_price_x96, tick=tick,
                       liquidity=sum(liq for low, high, liq in positions if low <= tick < high), fee_pips=fee_pips,
                       tick_spacing=tick_spacing, bitmap_words={w: v for w, v in words.items() if v},
                       liquidity_net_by_tick=dict(net),
                       complete_word_range=((MIN_TICK // tick_spacing) >> 8, (MAX_TICK // tick_spacing) >> 8))
