from __future__ import annotations

import random

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mevbot.pricing import (
    InvalidPoolState,
    MissingTickData,
    SolidityRevert,
    V3PoolState,
    apply_v3_swap,
    simulate_v3_swap,
)
from mevbot.pricing.full_math import MAX_UINT128
from mevbot.pricing.swap_math import compute_swap_step
from mevbot.pricing.tick_math import MAX_SQRT_RATIO, MIN_SQRT_RATIO, get_sqrt_ratio_at_tick, get_tick_at_sqrt_ratio
from tests.pricing.pools import random_v3_pool
from tests.pricing.reference_v3 import ReferenceRevert, reference_swap

E18 = 10**18


def _limit(rng: random.Random, state: V3PoolState, zero_for_one: bool) -> int:
    if rng.random() < 0.5:
        return MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
    factor = rng.uniform(0.3, 0.999) if zero_for_one else rng.uniform(1.001, 3.0)
    limit = int(state.sqrt_price_x96 * factor)
    return max(MIN_SQRT_RATIO + 1, min(MAX_SQRT_RATIO - 1, limit))


def _random_amount(rng: random.Random) -> int:
    return rng.choice([rng.randrange(1, 10**6), rng.randrange(1, 10**18), rng.randrange(1, 10**24), 2**90])


def _as_dict(result):
    return {
        key: getattr(result, key)
        for key in ("amount0", "amount1", "sqrt_price_x96", "tick", "liquidity", "ticks_crossed", "steps")
    }


@pytest.mark.parametrize("seed", range(40))
def test_swap_loop_matches_the_independent_reference_walker(seed):
    rng = random.Random(seed)
    state, net = random_v3_pool(rng, full_range=seed % 5 != 0)
    for _ in range(15):
        zero_for_one = rng.random() < 0.5
        amount = _random_amount(rng) * (1 if rng.random() < 0.5 else -1)
        limit = _limit(rng, state, zero_for_one)
        if not (limit < state.sqrt_price_x96 if zero_for_one else limit > state.sqrt_price_x96):
            # An earlier swap left the price at the bound: the pool refuses to go further.
            with pytest.raises(SolidityRevert, match="SPL"):
                simulate_v3_swap(state, zero_for_one, amount, limit)
            continue
        try:
            expected = reference_swap(
                sqrt_price_x96=state.sqrt_price_x96,
                tick=state.tick,
                liquidity=state.liquidity,
                fee_pips=state.fee_pips,
                tick_spacing=state.tick_spacing,
                liquidity_net=net,
                zero_for_one=zero_for_one,
                amount_specified=amount,
                sqrt_price_limit_x96=limit,
            )
        except ReferenceRevert:
            with pytest.raises(SolidityRevert):
                simulate_v3_swap(state, zero_for_one, amount, limit)
            continue
        result = simulate_v3_swap(state, zero_for_one, amount, limit)
        assert _as_dict(result) == expected
        # Walk on from the post-swap state, as the scanner's speculative state does.
        state = apply_v3_swap(state, result)


@pytest.mark.parametrize("seed", range(40, 60))
def test_multi_tick_swaps_cross_many_initialised_ticks(seed):
    rng = random.Random(seed)
    state, _ = random_v3_pool(rng, tick_spacing=rng.choice([1, 10]), positions=200, spread_ticks=3000)
    zero_for_one = seed % 2 == 0
    limit = get_sqrt_ratio_at_tick(state.tick - 2500 if zero_for_one else state.tick + 2500)
    result = simulate_v3_swap(state, zero_for_one, 2**120, limit)
    assert result.sqrt_price_x96 == limit
    assert len(result.ticks_crossed) > 20
    assert result.steps >= len(result.ticks_crossed)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**32),
    st.booleans(),
    st.integers(min_value=1, max_value=2**100),
    st.booleans(),
)
def test_exact_amount_is_fully_used_unless_the_price_limit_is_hit(seed, zero_for_one, amount, exact_input):
    rng = random.Random(seed)
    state, _ = random_v3_pool(rng, positions=10, spread_ticks=5000)
    limit = _limit(rng, state, zero_for_one)
    specified = amount if exact_input else -amount
    try:
        result = simulate_v3_swap(state, zero_for_one, specified, limit)
    except SolidityRevert:
        return
    hit_limit = result.sqrt_price_x96 == limit
    if exact_input:
        assert result.amount_in <= amount
        assert result.amount_in == amount or hit_limit
        assert result.amount_out >= 0
    else:
        assert result.amount_out <= amount
        assert result.amount_out == amount or hit_limit
    # The price only moves in the swap's direction and stops at the limit.
    if zero_for_one:
        assert limit <= result.sqrt_price_x96 <= state.sqrt_price_x96
    else:
        assert state.sqrt_price_x96 <= result.sqrt_price_x96 <= limit
    # slot0.tick is the price's tick, except after stopping exactly on a tick's price while
    # moving down: if the step's stop was that tick the pool crossed it and sits one below.
    price_tick = get_tick_at_sqrt_ratio(result.sqrt_price_x96)
    if zero_for_one and get_sqrt_ratio_at_tick(price_tick) == result.sqrt_price_x96:
        assert result.tick in (price_tick, price_tick - 1)
    else:
        assert result.tick == price_tick


def _simple_pool(**changes) -> V3PoolState:
    base = V3PoolState(
        sqrt_price_x96=1 << 96,
        tick=0,
        liquidity=10 * E18,
        fee_pips=3000,
        tick_spacing=60,
        bitmap_words={},
        liquidity_net_by_tick={},
        complete_word_range=(-58, 57),
    )
    return attrs.evolve(base, **changes)


def test_zero_amount_reverts_as():
    with pytest.raises(SolidityRevert) as info:
        simulate_v3_swap(_simple_pool(), True, 0)
    assert info.value.reason == "AS"


@pytest.mark.parametrize(
    ("zero_for_one", "limit"),
    [
        (True, 1 << 96),
        (True, (1 << 96) + 1),
        (True, MIN_SQRT_RATIO),
        (False, 1 << 96),
        (False, (1 << 96) - 1),
        (False, MAX_SQRT_RATIO),
    ],
)
def test_price_limits_on_the_wrong_side_or_at_the_bounds_revert_spl(zero_for_one, limit):
    with pytest.raises(SolidityRevert) as info:
        simulate_v3_swap(_simple_pool(), zero_for_one, E18, limit)
    assert info.value.reason == "SPL"


def test_swap_without_a_limit_uses_the_quoter_default_bounds():
    result = simulate_v3_swap(_simple_pool(), True, 10**40)
    assert result.sqrt_price_x96 == MIN_SQRT_RATIO + 1
    result = simulate_v3_swap(_simple_pool(), False, 10**40)
    assert result.sqrt_price_x96 == MAX_SQRT_RATIO - 1


def test_walking_past_the_known_words_raises_missing_tick_data_then_succeeds_once_fetched():
    rng = random.Random(7)
    full, _ = random_v3_pool(rng, tick_spacing=1, positions=60, spread_ticks=4000)
    limit = get_sqrt_ratio_at_tick(full.tick - 3000)
    expected = simulate_v3_swap(full, True, 10**27, limit)
    assert len({t >> 8 for t in expected.ticks_crossed}) > 1
    current_word = full.tick >> 8
    partial = attrs.evolve(
        full,
        bitmap_words={w: v for w, v in full.bitmap_words.items() if w == current_word},
        complete_word_range=(current_word, current_word),
    )
    fetches = 0
    while True:
        try:
            result = simulate_v3_swap(partial, True, 10**27, limit)
            break
        except MissingTickData as missing:
            assert missing.word is not None and missing.word < current_word
            fetches += 1
            word = full.bitmap_words.get(missing.word, 0)
            partial = partial.with_data(bitmap_words={missing.word: word}, complete_word_range=(missing.word, current_word))
    assert fetches > 0
    assert result == expected


def test_crossing_an_initialised_tick_with_unknown_liquidity_net_raises_missing_tick_data():
    rng = random.Random(11)
    full, _ = random_v3_pool(rng, positions=30, spread_ticks=3000)
    expected = simulate_v3_swap(full, False, 10**27)
    first = expected.ticks_crossed[0]
    nets = {t: n for t, n in full.liquidity_net_by_tick.items() if t != first}
    with pytest.raises(MissingTickData) as info:
        simulate_v3_swap(attrs.evolve(full, liquidity_net_by_tick=nets), False, 10**27)
    assert info.value.tick == first
    assert "liquidityNet" in str(info.value)


def test_apply_returns_the_post_swap_slot0_and_liquidity_and_shares_the_tick_data():
    rng = random.Random(3)
    state, _ = random_v3_pool(rng)
    result = simulate_v3_swap(state, True, E18)
    after = apply_v3_swap(state, result)
    assert (after.sqrt_price_x96, after.tick, after.liquidity) == (
        result.sqrt_price_x96,
        result.tick,
        result.liquidity,
    )
    assert after.bitmap_words is state.bitmap_words
    assert after.liquidity_net_by_tick is state.liquidity_net_by_tick


def test_swap_there_and_back_loses_only_fees_and_rounding():
    state = _simple_pool()
    out = simulate_v3_swap(state, True, E18)
    back = simulate_v3_swap(apply_v3_swap(state, out), False, out.amount_out)
    assert back.amount_out < E18
    assert back.amount_out > E18 * 99 // 100


def test_liquidity_going_negative_while_crossing_reverts_ls():
    # A corrupt state: crossing tick -60 downwards removes more liquidity than is active.
    words: dict[int, int] = {}
    from mevbot.pricing.tick_bitmap import flip_tick

    flip_tick(words, -60, 60)
    state = _simple_pool(liquidity=5, bitmap_words=words, liquidity_net_by_tick={-60: 6})
    with pytest.raises(SolidityRevert) as info:
        simulate_v3_swap(state, True, 10**30)
    assert info.value.reason == "LS"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sqrt_price_x96", MAX_SQRT_RATIO),
        ("sqrt_price_x96", 0),
        ("tick", 887273),
        ("liquidity", -1),
        ("liquidity", 2**128),
        ("fee_pips", 1_000_000),
        ("tick_spacing", 0),
    ],
)
def test_pool_state_rejects_values_the_pool_can_never_hold(field, value):
    with pytest.raises(InvalidPoolState, match=field):
        _simple_pool(**{field: value})


# With tick spacing 16384 and no initialised ticks, a swap from a negative tick downwards (or
# from tick >= 0 upwards) has one stop, the tick bound, so the limit is the single step's target:
# the pool loop's inlined step must equal the literal SwapMath port on the full input ranges.
@settings(max_examples=400, deadline=None)
@given(
    st.booleans(),
    st.integers(min_value=1, max_value=MAX_UINT128),
    st.integers(min_value=1, max_value=2**255 - 1),
    st.booleans(),
    st.integers(min_value=0, max_value=999_999),
    st.data(),
)
def test_inlined_step_equals_the_literal_swap_math_port(zero_for_one, liquidity, amount, exact_input, fee_pips, data):
    if zero_for_one:
        price = data.draw(st.integers(min_value=MIN_SQRT_RATIO + 2, max_value=(1 << 96) - 1))
        limit = data.draw(st.integers(min_value=MIN_SQRT_RATIO + 1, max_value=price - 1))
    else:
        price = data.draw(st.integers(min_value=1 << 96, max_value=MAX_SQRT_RATIO - 3))
        limit = data.draw(st.integers(min_value=price + 1, max_value=MAX_SQRT_RATIO - 1))
    specified = amount if exact_input else -amount
    state = V3PoolState(
        sqrt_price_x96=price,
        tick=get_tick_at_sqrt_ratio(price),
        liquidity=liquidity,
        fee_pips=fee_pips,
        tick_spacing=16384,
        bitmap_words={},
        liquidity_net_by_tick={},
        complete_word_range=(-1, 0),
    )
    try:
        expected = compute_swap_step(price, limit, liquidity, specified, fee_pips)
    except SolidityRevert:
        with pytest.raises(SolidityRevert):
            simulate_v3_swap(state, zero_for_one, specified, limit)
        return
    result = simulate_v3_swap(state, zero_for_one, specified, limit)
    next_price, amount_in, amount_out, fee = expected
    assert result.steps == 1
    assert result.sqrt_price_x96 == next_price
    assert (result.amount_in, result.amount_out, result.fee_amount) == (amount_in + fee, amount_out, fee)


@pytest.mark.parametrize("tick", [1, -2, 887272])
def test_pool_state_rejects_a_tick_that_does_not_match_the_price(tick):
    with pytest.raises(InvalidPoolState, match="does not match"):
        _simple_pool(tick=tick)


def test_pool_state_accepts_the_tick_one_below_after_crossing_downwards():
    state = _simple_pool(tick=-1)  # price exactly ratio(0): the pool crossed tick 0 going down
    assert state.tick == -1
