"""Helpers shared by the pricing tests: the price encodings Uniswap's test suites use."""

from __future__ import annotations

from math import isqrt


def encode_price_sqrt(reserve1: int, reserve0: int) -> int:
    """floor(sqrt(reserve1 / reserve0) * 2^96), as v3-core's test helper encodePriceSqrt."""
    return isqrt((reserve1 << 192) // reserve0)


def expand_to_18_decimals(n: int) -> int:
    return n * 10**18
