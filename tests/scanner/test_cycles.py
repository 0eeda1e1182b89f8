import random

import attrs
import pytest

from mevbot.scanner.cycles import build_cycle_index

WETH, USDC, WBTC, DAI = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20, "0x" + "dd" * 20


@attrs.frozen
class Pool:
    address: str
    token0: str
    token1: str


def pool(n: int, a: str, b: str) -> Pool:
    t0, t1 = sorted((a, b))
    return Pool(f"0x{n:040x}", t0, t1)


POOLS = [
    pool(1, WETH, USDC), pool(2, WETH, USDC),  # two DEXes, same pair
    pool(3, USDC, WBTC), pool(4, WBTC, WETH),  # triangle WETH-USDC-WBTC
    pool(5, DAI, USDC),                         # dead end: no cycle through it
]


def test_two_hop_cycles_pair_every_pool_of_a_pair_in_both_directions():
    index = build_cycle_index(POOLS, start_tokens=[WETH], max_hops=2)
    assert sorted(c.pools for c in index.cycles) == [(POOLS[0].address, POOLS[1].address),
                                                     (POOLS[1].address, POOLS[0].address)]
    for cycle in index.cycles:
        assert cycle.hops[0].token_in == WETH and cycle.hops[-1].token_out == WETH
        assert cycle.hops[0].token_out == cycle.hops[1].token_in == USDC


def test_three_hop_cycles_close_the_triangle_through_either_weth_usdc_pool():
    index = build_cycle_index(POOLS, start_tokens=[WETH])
    triangles = [c for c in index.cycles if len(c.hops) == 3]
    # two WETH/USDC pools x two directions around the triangle
    assert len(triangles) == 4
    for c in triangles:
        assert len(set(c.pools)) == 3
        assert [h.token_out for h in c.hops[:-1]] == [h.token_in for h in c.hops[1:]]


def test_index_returns_only_cycles_through_the_changed_pool():
    index = build_cycle_index(POOLS, start_tokens=[WETH])
    assert index.through(POOLS[4].address) == ()
    through_wbtc = index.through(POOLS[3].address)
    assert through_wbtc and all(POOLS[3].address in c.pools for c in through_wbtc)
    assert len(index.through(POOLS[0].address)) == 2 + 2  # two 2-hop, two triangles


def test_hop_direction_follows_token_order():
    index = build_cycle_index(POOLS, start_tokens=[WETH], max_hops=2)
    hop = index.cycles[0].hops[0]
    assert hop.zero_for_one == (WETH < USDC)


def test_cycle_order_does_not_depend_on_pool_registration_order():
    shuffled = POOLS[:]
    random.Random(7).shuffle(shuffled)
    a = build_cycle_index(POOLS, start_tokens=[WETH, USDC])
    b = build_cycle_index(shuffled, start_tokens=[USDC, WETH])
    assert [c.key for c in a.cycles] == [c.key for c in b.cycles]
    assert [c.key for c in a.through_any([POOLS[3].address, POOLS[0].address])] == \
           [c.key for c in b.through_any([POOLS[0].address, POOLS[3].address])]


def test_max_hops_outside_two_or_three_is_rejected():
    with pytest.raises(ValueError, match="max_hops"):
        build_cycle_index(POOLS, max_hops=4)


def test_an_index_whose_pool_lists_are_out_of_key_order_is_refused():
    from mevbot.scanner.cycles import CycleIndex

    index = build_cycle_index(POOLS, start_tokens=[WETH])
    pool = POOLS[0].address
    shuffled = dict(index.by_pool, **{pool: tuple(reversed(index.by_pool[pool]))})
    with pytest.raises(ValueError, match="key order"):
        CycleIndex(cycles=index.cycles, by_pool=shuffled)
