"""quote_v3_exact_input is simulate_v3_swap's exact-input answer without the result object."""

from __future__ import annotations

import random
from fractions import Fraction

import attrs
import pytest
from hypothesis import given, settings, strategies as st

from mevbot.pricing import MissingTickData, SolidityRevert, simulate_v3_swap
from mevbot.pricing.v3_pool import estimate_v3_exact_input, quote_v3_exact_input
from mevbot.pricing.v3_walk import SwapWalk
from tests.pricing.pools import random_v3_pool


def plain(state, zero_for_one, amount):
    try:
        r = simulate_v3_swap(state, zero_for_one, amount, reuse_walk=False)
    except (SolidityRevert, MissingTickData) as error:
        return type(error), str(error)
    return r.amount_out, r.sqrt_price_x96, r.liquidity, len(r.ticks_crossed), r.steps


def quoted(state, zero_for_one, amount):
    """The quote, its full-step count replaced by the loop's step count it implies."""
    try:
        *same, full = quote_v3_exact_input(state, zero_for_one, amount)
    except (SolidityRevert, MissingTickData) as error:
        return type(error), str(error)
    if full == -1:  # the loop answered: no count to check
        return (*same, plain(state, zero_for_one, amount)[4])
    steps = plain(state, zero_for_one, amount)[4]
    # the loop's steps are the full ones plus the partial one it ends in, if any
    assert steps in (full, full + 1)
    return (*same, steps)


@pytest.mark.parametrize("seed", range(10))
def test_quotes_at_and_beside_every_step_boundary_equal_the_plain_loop(seed):
    rng = random.Random(7100 + seed)
    state, _ = random_v3_pool(rng, tick_spacing=rng.choice([1, 10, 60]), positions=80, spread_ticks=2000,
                              full_range=seed % 3 != 0)
    for zero_for_one in (True, False):
        walk = SwapWalk(zero_for_one)
        walk.full_steps(state, True, 2**200, 0 if zero_for_one else 2**161)
        amounts = {c + d for c in walk.cost_end[:50] for d in (-1, 0, 1) if c + d > 0} | {1, 2, 10**6}
        fresh = attrs.evolve(state)  # its own walk, built by the quotes themselves
        for amount in sorted(amounts, key=lambda a: rng.random()):
            assert quoted(fresh, zero_for_one, amount) == plain(state, zero_for_one, amount)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.booleans(), st.lists(st.integers(1, 2**100), min_size=1, max_size=8))
def test_random_amounts_equal_the_plain_loop(seed, zero_for_one, amounts):
    state, _ = random_v3_pool(random.Random(seed), positions=30, spread_ticks=3000, full_range=seed % 2 == 0)
    for amount in amounts:
        assert quoted(state, zero_for_one, amount) == plain(state, zero_for_one, amount)


def test_missing_words_and_bad_amounts_raise_as_simulate_does():
    state, _ = random_v3_pool(random.Random(3), tick_spacing=1, positions=60, spread_ticks=4000)
    partial = attrs.evolve(state, bitmap_words={w: v for w, v in state.bitmap_words.items()
                                                if abs(w - (state.tick >> 8)) <= 1}, complete_word_range=None)
    assert quoted(partial, True, 10**30) == plain(partial, True, 10**30)
    assert quoted(partial, True, 10**30)[0] is MissingTickData
    assert quoted(state, True, 0) == plain(state, True, 0)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32), st.booleans(), st.integers(1, 2**110))
def test_output_never_exceeds_the_marginal_rate_at_the_current_price(seed, zero_for_one, amount):
    """The scanner's prune rests on this: out <= (1 - fee) * price * in, exactly, for every size."""
    state, _ = random_v3_pool(random.Random(seed), positions=30, spread_ticks=3000, full_range=seed % 2 == 0)
    result = quoted(state, zero_for_one, amount)
    if not isinstance(result[0], int):
        return
    price = Fraction(state.sqrt_price_x96 ** 2, 1 << 192)  # token1 per token0
    rate = Fraction(1_000_000 - state.fee_pips, 1_000_000) * (price if zero_for_one else 1 / price)
    assert result[0] <= rate * amount


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.booleans(), st.lists(st.integers(2**20, 2**100), min_size=1, max_size=8))
def test_the_float_estimate_ends_in_the_quotes_segment_with_its_amount_to_float_precision(seed, zero_for_one, amounts):
    """The scanner's float pre-search (Scanner._presearch) steers by estimate_v3_exact_input: it
    must name the price segment the exact quote ends in (but for an amount within float rounding
    of a stop) and its output to float precision, or say it cannot (None), never guess."""
    state, _ = random_v3_pool(random.Random(seed), positions=30, spread_ticks=3000, full_range=seed % 2 == 0)
    for amount in amounts:
        amount = int(float(amount))  # the estimate's input, exactly
        estimate = estimate_v3_exact_input(state, zero_for_one, float(amount))
        exact = quoted_raw(state, zero_for_one, amount)
        if estimate is None:
            continue
        out, sqrt_price, liquidity, segment = estimate
        assert isinstance(exact[0], int), "an estimate where the pool would revert"
        exact_out, exact_price, exact_liquidity, _, full = exact
        if full == -1:  # the loop answered: no segment to compare
            continue
        if segment != full:  # only an amount within float rounding of a stop may be placed beside it
            walk = state._walks[zero_for_one]
            stop = walk.cost_end[min(segment, full)]
            assert abs(stop - amount) <= stop * 2**-50
            continue
        assert liquidity == float(exact_liquidity)
        # The pool floors the input less its fee and rounds its next price to integers: the exact
        # amount is the real one at an input and a price up to one unit off, i.e. off by about
        # 1/input + 1/(price move in Q96 units), relative.
        walk = state._walks[zero_for_one]
        before = walk.price_end[full - 1] if full else state.sqrt_price_x96
        rounding = 2 / amount + 2 / max(1, abs(exact_price - before))
        assert out == pytest.approx(exact_out, rel=1e-9 + rounding, abs=2)
        assert sqrt_price == pytest.approx(exact_price / 2**96, rel=1e-9, abs=2 / 2**96)


def quoted_raw(state, zero_for_one, amount):
    try:
        return quote_v3_exact_input(state, zero_for_one, amount)
    except (SolidityRevert, MissingTickData) as error:
        return type(error), str(error)
