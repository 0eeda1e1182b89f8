"""Uniswap V3 TickBitmap over a Python mapping of 256-bit words.

The pool keeps one bit per *compressed* tick (tick // tickSpacing, rounded towards negative
infinity) in ``tickBitmap[int16 wordPos]``. Here the words come either from a mapping (absent
words are zero) or from a ``get_word(word_pos)`` callable, so the caller decides what an
unknown word means (the swap simulator raises :class:`~mevbot.pricing.errors.MissingTickData`
for words outside what it has fetched).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mevbot.pricing.errors import SolidityRevert


def position(compressed_tick: int) -> tuple[int, int]:
    """(word_pos, bit_pos) of a compressed tick: arithmetic shift and the low 8 bits."""
    return compressed_tick >> 8, compressed_tick & 0xFF


def compress(tick: int, tick_spacing: int) -> int:
    """tick / tickSpacing rounded towards negative infinity, as the contract compresses."""
    return tick // tick_spacing


def next_initialized_tick_within_one_word(
    words: Mapping[int, int] | Callable[[int], int], tick: int, tick_spacing: int, lte: bool
) -> tuple[int, bool]:
    """Next initialised tick at or left of ``tick`` (lte) or right of it, within one word.

    Returns ``(next_tick, initialized)``; when no bit is set in the word, ``next_tick`` is the
    word's edge and ``initialized`` is False, exactly like the contract (so a swap makes one
    step per word it walks through).
    """
    if isinstance(words, Mapping):
        mapping = words

        def get_word(word_pos: int) -> int:
            return mapping.get(word_pos, 0)

    else:
        get_word = words
    compressed = tick // tick_spacing
    if lte:
        bit_pos = compressed & 0xFF
        masked = get_word(compressed >> 8) & ((2 << bit_pos) - 1)
        if masked:
            return (compressed - bit_pos + masked.bit_length() - 1) * tick_spacing, True
        return (compressed - bit_pos) * tick_spacing, False
    compressed += 1
    bit_pos = compressed & 0xFF
    masked = get_word(compressed >> 8) >> bit_pos
    if masked:
        return (compressed + (masked & -masked).bit_length() - 1) * tick_spacing, True
    return (compressed + 255 - bit_pos) * tick_spacing, False


def flip_tick(words: dict[int, int], tick: int, tick_spacing: int) -> None:
    """Toggle a tick's bit in ``words`` (used to build bitmaps, e.g. in tests and fixtures)."""
    if tick % tick_spacing:
        raise SolidityRevert("TickBitmap.flipTick", "", f"tick {tick} is not a multiple of tick spacing {tick_spacing}")
    word_pos, bit_pos = position(tick // tick_spacing)
    words[word_pos] = words.get(word_pos, 0) ^ (1 << bit_pos)
