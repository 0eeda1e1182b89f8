"""Scanner shards (pure logic): every cycle belongs to exactly one of n shards.

A cycle is assigned by a stable hash (BLAKE2b, not Python's salted ``hash``) of the sorted set
of its pool addresses, so every process computes the same partition, a cycle and its reverse
(the same pools) land in the same shard, and n scanners with shards 0..n-1 evaluate every
cycle exactly once: together they find exactly the opportunities one scanner finds. A shard's
pools are the pools of its cycles (a pool may serve several shards; a cycle never does).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from mevbot.deploy.errors import ShardError
from mevbot.scanner.cycles import Cycle, CycleIndex


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)``; raises ShardError naming the text unless 0 <= i < n."""
    index_text, sep, count_text = text.partition("/")
    try:
        index, count = int(index_text), int(count_text)
    except ValueError:
        index = count = -1
    if not sep or count < 1 or not 0 <= index < count:
        raise ShardError(f"scanner shard {text!r}: expected 'i/n' with 0 <= i < n, e.g. '0/2'")
    return index, count


def shard_of_pools(pools: Iterable[str], count: int) -> int:
    """The shard (0..count-1) of a set of pool addresses."""
    if count == 1:
        return 0
    key = ",".join(sorted({p.lower() for p in pools})).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % count


def shard_of_cycle(cycle: Cycle, count: int) -> int:
    return shard_of_pools(cycle.pools, count)


def shard_index(index: CycleIndex, shard: int, count: int) -> CycleIndex:
    """The part of ``index`` that shard ``shard`` of ``count`` evaluates (the same object for 0/1)."""
    if count == 1:
        return index
    if not 0 <= shard < count:
        raise ShardError(f"scanner shard {shard}/{count}: expected 0 <= i < n")
    cycles = tuple(c for c in index.cycles if shard_of_cycle(c, count) == shard)
    by_pool: dict[str, list[Cycle]] = defaultdict(list)
    for cycle in cycles:
        for pool in dict.fromkeys(p.lower() for p in cycle.pools):
            by_pool[pool].append(cycle)
    return CycleIndex(cycles=cycles, by_pool={p: tuple(cs) for p, cs in by_pool.items()})
