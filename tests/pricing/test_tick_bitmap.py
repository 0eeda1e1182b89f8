from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mevbot.pricing.errors import SolidityRevert
from mevbot.pricing.tick_bitmap import flip_tick, next_initialized_tick_within_one_word, position

# The bitmap used throughout v3-core test/TickBitmap.spec.ts (tick spacing 1).
SPEC_TICKS = [-200, -55, -4, 70, 78, 84, 139, 240, 535]


def bitmap(ticks, spacing=1):
    words: dict[int, int] = {}
    for tick in ticks:
        flip_tick(words, tick, spacing)
    return words


def next_tick(words, tick, lte, spacing=1):
    return next_initialized_tick_within_one_word(lambda w: words.get(w, 0), tick, spacing, lte)


@pytest.mark.parametrize(
    ("extra", "tick", "expected"),
    [
        ([], 78, (84, True)),
        ([], -55, (-4, True)),
        ([], 77, (78, True)),
        ([], -56, (-55, True)),
        ([], 255, (511, False)),
        ([], -257, (-200, True)),
        ([340], 328, (340, True)),
        ([], 508, (511, False)),
        ([], 383, (511, False)),
    ],
)
def test_next_initialized_tick_to_the_right_matches_the_spec(extra, tick, expected):
    assert next_tick(bitmap(SPEC_TICKS + extra), tick, lte=False) == expected


@pytest.mark.parametrize(
    ("extra", "tick", "expected"),
    [
        ([], 78, (78, True)),
        ([], 79, (78, True)),
        ([], 258, (256, False)),
        ([], 256, (256, False)),
        ([], 72, (70, True)),
        ([], -257, (-512, False)),
        ([], 1023, (768, False)),
        ([], 900, (768, False)),
        ([329], 456, (329, True)),
    ],
)
def test_next_initialized_tick_at_or_to_the_left_matches_the_spec(extra, tick, expected):
    assert next_tick(bitmap(SPEC_TICKS + extra), tick, lte=True) == expected


def test_a_plain_dict_of_words_works_like_a_word_getter():
    words = bitmap(SPEC_TICKS)
    assert next_initialized_tick_within_one_word(words, 78, 1, False) == (84, True)
    assert next_initialized_tick_within_one_word(words, -257, 1, True) == (-512, False)


def test_position_splits_negative_compressed_ticks_like_the_contract():
    assert position(-1) == (-1, 255)
    assert position(-256) == (-1, 0)
    assert position(-257) == (-2, 255)
    assert position(256) == (1, 0)


def test_flip_tick_twice_clears_the_bit_and_rejects_unspaced_ticks():
    words = bitmap([-230, -230], spacing=10)
    assert all(word == 0 for word in words.values())
    with pytest.raises(SolidityRevert):
        flip_tick(words, 5, 10)


@given(
    st.sets(st.integers(min_value=-3000, max_value=3000), max_size=40),
    st.integers(min_value=-3000 * 60, max_value=3000 * 60),
    st.sampled_from([1, 10, 60, 200]),
    st.booleans(),
)
def test_next_initialized_tick_agrees_with_a_brute_force_scan(compressed_ticks, tick, spacing, lte):
    initialised = {c * spacing for c in compressed_ticks}
    words = bitmap(initialised, spacing)
    got, got_initialised = next_tick(words, tick, lte, spacing)
    compressed = tick // spacing
    if lte:
        word_start = (compressed >> 8) << 8
        candidates = [c for c in range(compressed, word_start - 1, -1) if c * spacing in initialised]
        expected = (candidates[0] * spacing, True) if candidates else (word_start * spacing, False)
    else:
        start = compressed + 1
        word_end = ((start >> 8) << 8) + 255
        candidates = [c for c in range(start, word_end + 1) if c * spacing in initialised]
        expected = (candidates[0] * spacing, True) if candidates else (word_end * spacing, False)
    assert (got, got_initialised) == expected
