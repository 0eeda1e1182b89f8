"""The memoised walk must never change a result: fast-forwarded quotes equal the plain loop."""

from __future__ import annotations

import random

import attrs
import pytest

from mevbot.pricing import MissingTickData, SolidityRevert, simulate_v3_swap
from mevbot.pricing.tick_math import MAX_SQRT_RATIO, MIN_SQRT_RATIO, get_sqrt_ratio_at_tick
from mevbot.pricing.v3_walk import SwapWalk
from tests.pricing.pools import random_v3_pool


def _outcome(state, zero_for_one, amount, limit, reuse_walk):
    try:
        return simulate_v3_swap(state, zero_for_one, amount, limit, reuse_walk=reuse_walk)
    except (SolidityRevert, MissingTickData) as error:
        return (type(error), str(error))


def _threshold_amounts(state, zero_for_one, limit):
    """Amounts landing exactly on, and one wei either side of, each full step's boundary."""
    walk = SwapWalk(zero_for_one)
    walk.full_steps(state, True, 2**200, limit)
    walk.full_steps(state, False, 2**200, limit)
    amounts = set()
    for cost, out in zip(walk.cost_end[:60], walk.out_end[:60]):
        for delta in (-1, 0, 1):
            if cost + delta > 0:
                amounts.add(cost + delta)
            if out + delta > 0:
                amounts.add(-(out + delta))
    return sorted(amounts)


@pytest.mark.parametrize("seed", range(12))
def test_quotes_at_every_step_boundary_equal_the_plain_loop(seed):
    rng = random.Random(1000 + seed)
    state, _ = random_v3_pool(
        rng, tick_spacing=rng.choice([1, 10, 60]), positions=80, spread_ticks=2000, full_range=seed % 3 != 0
    )
    for zero_for_one in (True, False):
        far = state.tick - 3000 if zero_for_one else state.tick + 3000
        for limit in (None, get_sqrt_ratio_at_tick(far)):
            quoted = attrs.evolve(state)  # a fresh walk per direction and limit
            for amount in _threshold_amounts(state, zero_for_one, limit or (MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1)):
                assert _outcome(quoted, zero_for_one, amount, limit, True) == _outcome(
                    state, zero_for_one, amount, limit, False
                )


@pytest.mark.parametrize("seed", range(8))
def test_random_quotes_in_any_order_equal_the_plain_loop(seed):
    rng = random.Random(2000 + seed)
    state, _ = random_v3_pool(rng, positions=60, spread_ticks=4000, full_range=seed % 2 == 0)
    for _ in range(60):
        zero_for_one = rng.random() < 0.5
        amount = rng.choice([rng.randrange(1, 10**9), rng.randrange(1, 10**21), rng.randrange(1, 10**28)])
        amount = amount if rng.random() < 0.5 else -amount
        tick_away = rng.randrange(1, 6000)
        limit = get_sqrt_ratio_at_tick(state.tick - tick_away if zero_for_one else state.tick + tick_away)
        limit = rng.choice([limit, None])
        assert _outcome(state, zero_for_one, amount, limit, True) == _outcome(state, zero_for_one, amount, limit, False)


def test_walk_stops_where_data_is_missing_and_the_loop_raises_as_before():
    rng = random.Random(5)
    full, _ = random_v3_pool(rng, tick_spacing=1, positions=60, spread_ticks=4000)
    current_word = full.tick >> 8
    partial = attrs.evolve(
        full,
        bitmap_words={w: v for w, v in full.bitmap_words.items() if w == current_word},
        complete_word_range=(current_word, current_word),
    )
    small = simulate_v3_swap(partial, True, 10**6)
    assert small == simulate_v3_swap(full, True, 10**6)
    with pytest.raises(MissingTickData) as cached:
        simulate_v3_swap(partial, True, 10**30)
    with pytest.raises(MissingTickData) as plain:
        simulate_v3_swap(partial, True, 10**30, reuse_walk=False)
    assert cached.value.word == plain.value.word == current_word - 1


def test_each_new_state_gets_its_own_walk():
    rng = random.Random(9)
    state, _ = random_v3_pool(rng)
    first = simulate_v3_swap(state, True, 10**24)
    after = attrs.evolve(state, liquidity=state.liquidity + 1)
    assert simulate_v3_swap(after, True, 10**24) == simulate_v3_swap(after, True, 10**24, reuse_walk=False)
    assert simulate_v3_swap(state, True, 10**24) == first


def test_a_replaced_state_and_its_walks_are_freed_without_the_cyclic_collector():
    import gc
    import weakref

    rng = random.Random(13)
    state, _ = random_v3_pool(rng)
    simulate_v3_swap(state, True, 10**24)
    simulate_v3_swap(state, False, 10**24)
    gc.disable()
    try:
        ref = weakref.ref(state)
        del state
        assert ref() is None
    finally:
        gc.enable()


def test_swaps_longer_than_the_memoised_walk_continue_in_the_plain_loop():
    from mevbot.pricing import V3PoolState
    from mevbot.pricing.tick_bitmap import flip_tick
    from mevbot.pricing.tick_math import MAX_TICK, MIN_TICK
    from mevbot.pricing.v3_walk import MAX_WALK_STEPS

    # Spacing 1 and liquidity only near the bottom: going up walks every one of ~6900 words.
    words: dict[int, int] = {}
    nets = {-800_000: 10**20, -799_000: -(10**20)}
    for tick in nets:
        flip_tick(words, tick, 1)
    state = V3PoolState(
        sqrt_price_x96=get_sqrt_ratio_at_tick(-799_500),
        tick=-799_500,
        liquidity=10**20,
        fee_pips=100,
        tick_spacing=1,
        bitmap_words=words,
        liquidity_net_by_tick=nets,
        complete_word_range=(MIN_TICK >> 8, MAX_TICK >> 8),
    )
    plain = simulate_v3_swap(state, False, 10**30, reuse_walk=False)
    assert plain.steps > MAX_WALK_STEPS
    assert simulate_v3_swap(state, False, 10**30) == plain
    assert simulate_v3_swap(state, False, 10**30) == plain
