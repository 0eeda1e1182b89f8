"""Clustered scanners: n shards together find exactly the opportunities one scanner finds.

A seeded synthetic market (V2 pools only: their state needs no tick data, so every cycle is
priced from the state given) with many pools per pair, so 2- and 3-hop cycles abound. Each round
moves a few pools' reserves and scans; the full scanner's findings must equal the union of the
shards' findings, with no opportunity found by two shards.
"""

from __future__ import annotations

import random

import attrs
import pytest

from mevbot.deploy.errors import ShardError
from mevbot.deploy.shard import parse_shard, shard_index, shard_of_cycle, shard_of_pools
from mevbot.pricing.v2 import V2PoolState
from mevbot.scanner.cycles import build_cycle_index
from mevbot.scanner.engine import CostInputs, ScanFilters, Scanner

E18 = 10**18
PINNED_SHARD = 6  # blake2b-64 of "0xabab...,0xcdcd..." mod 7; changing it re-shards every cluster


@attrs.frozen
class Pool:
    address: str
    token0: str
    token1: str


def synthetic_market(seed: int, tokens: int = 6, pools_per_pair: int = 2):
    rng = random.Random(seed)
    names = sorted("0x" + rng.randbytes(20).hex() for _ in range(tokens))
    weth = names[0]
    price = {t: (1.0 if t == weth else rng.uniform(0.001, 50.0)) for t in names}  # in WETH
    pools, states = [], {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if rng.random() < 0.3 and weth not in (a, b):
                continue  # not every pair has a pool
            for _ in range(pools_per_pair):
                address = "0x" + rng.randbytes(20).hex()
                depth_weth = rng.uniform(50, 5000)
                r0 = int(depth_weth / price[a] * E18)
                r1 = int(depth_weth / price[b] * E18 * rng.uniform(0.97, 1.03))  # small price gaps
                pools.append(Pool(address, a, b))
                states[address] = V2PoolState(r0, r1)
    return weth, pools, states, rng


def scanner_for(index, weth):
    return Scanner(index, filters=ScanFilters(min_profit=0, min_profit_to_cost=0), weth=weth)


@pytest.mark.parametrize("seed, shards", [(1, 2), (2, 3), (3, 2)])
def test_shards_together_find_exactly_what_one_scanner_finds(seed, shards):
    weth, pools, states, rng = synthetic_market(seed)
    index = build_cycle_index(pools, start_tokens=[weth], max_hops=3)
    assert len(index.cycles) > 100
    parts = [shard_index(index, i, shards) for i in range(shards)]
    assert sum(len(p.cycles) for p in parts) == len(index.cycles)
    assert set().union(*({c.key for c in p.cycles} for p in parts)) == {c.key for c in index.cycles}
    assert all(len(p.cycles) > len(index.cycles) / shards / 2 for p in parts)  # roughly balanced

    full = scanner_for(index, weth)
    sharded = [scanner_for(p, weth) for p in parts]
    view = states.get
    costs = CostInputs(gas_price_wei=10**7)
    total = 0
    for round_no in range(30):
        changed = rng.sample([p.address for p in pools], 3)
        for address in changed:
            s = states[address]
            states[address] = V2PoolState(s.reserve0, int(s.reserve1 * rng.uniform(0.9, 1.1)))
        expected = full.scan(changed, view, costs, block_number=round_no, seq=round_no)
        found = [opp for scanner in sharded
                 for opp in scanner.scan(changed, view, costs, block_number=round_no, seq=round_no)]
        assert sorted(found, key=lambda o: o.order_key) == expected  # equal, and none twice
        total += len(expected)
    assert total > 20  # the market really had opportunities to find
    # and each shard evaluated only its own cycles: no cycle was evaluated twice
    assert sum(s.counters.cycles_evaluated for s in sharded) == full.counters.cycles_evaluated


def test_a_cycle_and_its_reverse_share_a_shard_and_the_hash_is_stable():
    weth, pools, _, _ = synthetic_market(5)
    index = build_cycle_index(pools, start_tokens=[weth])
    for cycle in index.cycles:
        reverse_key = cycle.start_token + ":" + ">".join(reversed([h.pool for h in cycle.hops]))
        reverse = next(c for c in index.through(cycle.hops[0].pool) if c.key == reverse_key)
        assert shard_of_cycle(cycle, 4) == shard_of_cycle(reverse, 4)
    # case- and order-independent, and pinned: every process and every release agree
    a, b = "0x" + "ab" * 20, "0x" + "cd" * 20
    assert shard_of_pools([a.upper(), b], 7) == shard_of_pools([b, a], 7) == PINNED_SHARD
    assert shard_index(index, 0, 1) is index


@pytest.mark.parametrize("text", ["2/2", "-1/2", "1", "a/b", "0/0"])
def test_a_malformed_shard_is_refused_naming_it(text):
    with pytest.raises(ShardError, match=f"scanner shard '{text}'"):
        parse_shard(text)
