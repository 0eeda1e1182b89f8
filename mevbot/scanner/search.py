"""Optimal input of an arbitrage cycle.

The profit of a cycle, ``out(x) - x``, is concave in the input ``x`` for constant-product and
concentrated-liquidity pools (each hop's output is concave and increasing in its input, and a
composition of such functions is too). Two ways to find its maximum:

* A chain of V2 hops composes to one Möbius map ``out = a*x / (b + c*x)``, whose optimum has a
  closed form; the on-chain integer rounding moves the true integer optimum by at most a few
  wei, so the closed form is refined by evaluating the exact simulator around it.
* Anything else (V3 hops): the scanner takes Newton steps on the exact simulator, each from
  the Möbius map that the hops' constant-product models at the last simulated point compose to
  (:func:`mobius_optimum`; engine.py explains why that is exact within the hops' price
  segments), kept inside a bracket (:func:`inside_bracket`). The bracketed integer
  golden-section search with a bounded number of evaluations is the reference search
  (engine.ReferenceScanner) and the fallback for a hop without liquidity at its price.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import attrs

#: Simulates a whole cycle: input amount of the start token -> output amount of it.
#: It may raise ArithmeticError-derived errors (e.g. insufficient liquidity) for sizes the pools
#: cannot take; the search treats those inputs as unprofitable.
CycleSimulator = Callable[[int], int]


@attrs.frozen
class SearchResult:
    amount_in: int
    amount_out: int
    evaluations: int

    @property
    def profit(self) -> int:
        return self.amount_out - self.amount_in


@attrs.frozen
class V2Hop:
    """One constant-product hop: reserves of the token sold and bought, fee as num/den."""

    reserve_in: int
    reserve_out: int
    fee_num: int = 997
    fee_den: int = 1000


def v2_chain_optimum(hops: Sequence[V2Hop]) -> int:
    """The real-valued optimal input of a V2 chain, floored; 0 when the chain is unprofitable.

    Composing ``y = g*x*R_out / (R_in + g*x)`` hop by hop keeps the form ``a*x / (b + c*x)``
    (all integers, fees scaled by their denominators); the optimum of ``a*x/(b+c*x) - x`` is
    ``(sqrt(a*b) - b) / c``.
    """
    a, b, c = 1, 1, 0  # identity: x = 1*x / (1 + 0*x)
    for hop in hops:
        # y = n*x*R_out / (d*R_in + n*x) with g = n/d, composed with x = a*u / (b + c*u):
        n, d = hop.fee_num, hop.fee_den
        a, b, c = (n * hop.reserve_out * a,
                   d * hop.reserve_in * b,
                   d * hop.reserve_in * c + n * a)
    if c == 0 or a <= b:
        return 0
    root = math.isqrt(a * b)
    return max(0, (root - b) // c)


def refine_around(simulate: CycleSimulator, guess: int, *, radius: int = 4) -> SearchResult:
    """Best integer input within ``radius`` of ``guess`` by the exact simulator."""
    best = SearchResult(0, 0, 0)
    evaluations = 0
    for x in range(max(1, guess - radius), guess + radius + 1):
        out = _safe(simulate, x)
        evaluations += 1
        if out is not None and out - x > best.profit:
            best = SearchResult(x, out, 0)
    return attrs.evolve(best, evaluations=evaluations)


_INV_PHI = (math.sqrt(5) - 1) / 2


def golden_section_search(simulate: CycleSimulator, low: int, high: int, *,
                          max_evaluations: int = 64, rel_tolerance_bits: int = 20) -> SearchResult:
    """Integer maximiser of ``simulate(x) - x`` on ``[low, high]`` for a concave profit.

    First a geometric scan (factor 4) brackets the optimum, so that a range spanning many
    orders of magnitude costs a few evaluations; then golden-section search narrows the
    bracket until it is a few wei wide or ``2**-rel_tolerance_bits`` of its position (the profit
    is flat near the optimum, so the rest is worth less than the gas of evaluating it), or
    ``max_evaluations`` simulator calls are spent. An input the simulator rejects counts as
    -infinity profit, which keeps the function unimodal (pools fail only above some size).
    """
    low = max(low, 1)
    if high < low:
        return SearchResult(0, 0, 0)
    cache: dict[int, int | None] = {}

    def profit(x: int) -> float:
        if x not in cache:
            cache[x] = _safe(simulate, x)
        out = cache[x]
        return -math.inf if out is None else out - x

    points = [high]
    while points[-1] // 4 >= low and len(points) < max_evaluations // 3:
        points.append(points[-1] // 4)
    points.reverse()
    if points[0] != low:
        points.insert(0, low)
    best_i = max(range(len(points)), key=lambda i: (profit(points[i]), -i))
    a = points[max(best_i - 1, 0)]
    b = points[min(best_i + 1, len(points) - 1)]

    c = b - int((b - a) * _INV_PHI)
    d = a + int((b - a) * _INV_PHI)
    while b - a > max(4, a >> rel_tolerance_bits) and len(cache) < max_evaluations - 5:
        if profit(c) >= profit(d):
            b = d
        else:
            a = c
        c = b - int((b - a) * _INV_PHI)
        d = a + int((b - a) * _INV_PHI)
    if b - a <= 4:
        for x in range(a, b + 1):
            profit(x)
    # Every cached point is an exact evaluation; integer rounding of the interior points can
    # step the bracket past the best one seen, so the answer is the best of all of them.
    best_x = max(cache, key=lambda x: (profit(x), -x))
    out = cache[best_x]
    if out is None or out - best_x <= 0:
        return SearchResult(0, 0, len(cache))
    return SearchResult(best_x, out, len(cache))


def _safe(simulate: CycleSimulator, x: int) -> int | None:
    try:
        return simulate(x)
    except ArithmeticError:
        return None


def mobius_optimum(a: float, b: float, c: float, *, signed: bool = False) -> float | None:
    """Where ``a*d / (b + c*d) - d`` peaks: ``(sqrt(a*b) - b) / c``; None when undefined.

    ``signed``: the step from the current point may be negative (past the optimum); otherwise
    this is a start point and a non-positive one is None.
    """
    if not (0 < a < math.inf and 0 < b < math.inf and 0 < c < math.inf):
        return None
    d = (math.sqrt(a) * math.sqrt(b) - b) / c
    if not math.isfinite(d) or (not signed and d <= 0):
        return None
    return d


def inside_bracket(low: int, high: int, slope_low: float, slope_high: float | None) -> int | None:
    """A point strictly inside (low, high): where the slope, linear between the ends, is zero
    (regula falsi) when both are known; else the geometric mean of a wide bracket, or the middle."""
    if high - low <= 1:
        return None
    if slope_high is not None and slope_low > 0 > slope_high:
        x = low + int((high - low) * (slope_low / (slope_low - slope_high)))
        return min(max(x, low + 1), high - 1)
    if high > 4 * max(low, 1):
        return max(low + 1, math.isqrt(max(low, 1) * high))
    return (low + high) // 2
