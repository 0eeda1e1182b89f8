"""Arbitrage cycles over the token graph, indexed by pool.

A cycle starts and ends in one token and walks 2 or 3 distinct pools. Cycles are built once
from the registered pools, and every cycle is indexed by each pool it touches, so that an event
on a pool evaluates only the cycles through that pool. Cycles get a stable key, and every list
this module returns is sorted by it: the scanner's output order must not depend on dict order
or on the order pools were registered (a replay gives identical decisions).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

import attrs


class PoolLike(Protocol):
    address: str
    token0: str
    token1: str


@attrs.frozen
class Hop:
    pool: str
    token_in: str
    token_out: str
    #: True when the hop sells the pool's token0 (token addresses sort as the pool does).
    zero_for_one: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "zero_for_one", self.token_in.lower() < self.token_out.lower())


@attrs.frozen
class Cycle:
    start_token: str
    hops: tuple[Hop, ...]
    #: Stable identity: start token and pools in order, lower-case.
    key: str = attrs.field(init=False, eq=False, repr=False)
    #: ``(pool, zero_for_one)`` per hop, pool lower-case: what the scanner's hot loop reads.
    legs: tuple[tuple[str, bool], ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # Derived once: the scanner reads them for every cycle of every event.
        object.__setattr__(self, "key", self.start_token.lower() + ":" + ">".join(h.pool.lower() for h in self.hops))
        object.__setattr__(self, "legs", tuple((h.pool.lower(), h.zero_for_one) for h in self.hops))

    @property
    def pools(self) -> tuple[str, ...]:
        return tuple(h.pool for h in self.hops)


@attrs.frozen
class CycleIndex:
    """Cycles in key order, and per lower-case pool the cycles through it, also in key order
    (checked here: :meth:`through_any` relies on it to skip a sort for a single pool)."""

    cycles: tuple[Cycle, ...]
    by_pool: dict[str, tuple[Cycle, ...]]

    def __attrs_post_init__(self) -> None:
        for pool, cycles in self.by_pool.items():
            keys = [c.key for c in cycles]
            if keys != sorted(set(keys)):
                raise ValueError(f"CycleIndex.by_pool[{pool!r}] is not in key order (or repeats a cycle)")

    def through(self, pool: str) -> tuple[Cycle, ...]:
        return self.by_pool.get(pool.lower(), ())

    def through_any(self, pools: Iterable[str]) -> list[Cycle]:
        """Cycles touching any of ``pools``, each once, in key order."""
        lists = [self.by_pool.get(pool.lower(), ()) for pool in pools]
        lists = [cycles for cycles in lists if cycles]
        if len(lists) == 1:
            return list(lists[0])  # each pool's tuple is already in key order
        seen: dict[str, Cycle] = {}
        for cycles in lists:
            for cycle in cycles:
                seen.setdefault(cycle.key, cycle)
        return [seen[k] for k in sorted(seen)]


def build_cycle_index(pools: Sequence[PoolLike], *, start_tokens: Iterable[str] | None = None,
                      max_hops: int = 3) -> CycleIndex:
    """All 2-hop and (if ``max_hops`` >= 3) 3-hop cycles starting at ``start_tokens``.

    ``start_tokens`` are the tokens profit is measured in (WETH, stablecoins); None means every
    token. A cycle and its reverse are distinct: they trade opposite price gaps.
    """
    if max_hops not in (2, 3):
        raise ValueError(f"max_hops must be 2 or 3, got {max_hops}")
    edges: dict[str, list[tuple[str, str]]] = defaultdict(list)  # token -> [(pool, other token)]
    for pool in sorted(pools, key=lambda p: p.address.lower()):
        a, b, addr = pool.token0.lower(), pool.token1.lower(), pool.address.lower()
        edges[a].append((addr, b))
        edges[b].append((addr, a))
    starts = sorted(edges) if start_tokens is None else sorted({t.lower() for t in start_tokens} & edges.keys())

    found: dict[str, Cycle] = {}
    for start in starts:
        for pool1, mid in edges[start]:
            for pool2, back in edges[mid]:
                if pool2 == pool1:
                    continue
                if back == start:
                    _add(found, start, ((pool1, start, mid), (pool2, mid, start)))
                elif max_hops >= 3:
                    for pool3, end in edges[back]:
                        if end == start and pool3 not in (pool1, pool2):
                            _add(found, start, ((pool1, start, mid), (pool2, mid, back), (pool3, back, start)))
    cycles = tuple(found[k] for k in sorted(found))
    by_pool: dict[str, list[Cycle]] = defaultdict(list)
    for cycle in cycles:
        for pool in dict.fromkeys(cycle.pools):
            by_pool[pool].append(cycle)
    return CycleIndex(cycles=cycles, by_pool={p: tuple(cs) for p, cs in by_pool.items()})


def _add(found: dict[str, Cycle], start: str, hops: tuple[tuple[str, str, str], ...]) -> None:
    cycle = Cycle(start_token=start, hops=tuple(Hop(pool, tin, tout) for pool, tin, tout in hops))
    found.setdefault(cycle.key, cycle)
