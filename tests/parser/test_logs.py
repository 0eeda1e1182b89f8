"""Log decoding to pool updates. These logs are encoded with eth_abi from the event
signatures; tests/parser/test_chain.py checks the same decoder on logs emitted by the real
Uniswap contracts on anvil."""

import pytest
from eth_abi import encode
from eth_utils import keccak

from mevbot.parser.errors import LogDecodeError
from mevbot.parser.logs import LogParser, decode_log
from mevbot.parser.messages import PoolKind, PoolUpdateKind
from mevbot.pools.registry import DexInfo, PoolInfo, PoolRegistry

POOL = "0x" + "9a" * 20
FACTORY = "0x" + "fa" * 20
T0 = "0x" + "10" * 20
T1 = "0x" + "20" * 20
USER = "0x" + "75" * 20


def topic(sig):
    return "0x" + keccak(text=sig).hex()


def word(types, values):
    return "0x" + encode(types, values).hex()


def make_log(sig, indexed=(), data_types=(), values=(), address=POOL, **extra):
    entry = {
        "address": address,
        "topics": [topic(sig)] + [word([t], [v]) for t, v in indexed],
        "data": "0x" + encode(list(data_types), list(values)).hex(),
        "blockNumber": "0x10", "logIndex": "0x2", "transactionHash": "0x" + "cd" * 32, "removed": False,
    }
    entry.update(extra)
    return entry


V2_SWAP = "Swap(address,uint256,uint256,uint256,uint256,address)"
V3_SWAP = "Swap(address,address,int256,int256,uint160,uint128,int24)"


def test_v2_sync_gives_reserves_and_log_position():
    update = decode_log(make_log("Sync(uint112,uint112)", (), ["uint112", "uint112"], [5, 7]))
    assert update.kind is PoolUpdateKind.V2_SYNC and (update.reserve0, update.reserve1) == (5, 7)
    assert (update.pool, update.block_number, update.log_index) == (POOL, 16, 2)
    assert update.tx_hash == "0x" + "cd" * 32


def test_v2_swap_gives_the_pools_signed_net_amounts():
    update = decode_log(make_log(V2_SWAP, [("address", USER), ("address", USER)], ["uint256"] * 4, [100, 0, 0, 95]))
    assert update.kind is PoolUpdateKind.V2_SWAP and (update.amount0, update.amount1) == (100, -95)


def test_v3_swap_gives_price_liquidity_tick_and_signed_amounts():
    update = decode_log(make_log(V3_SWAP, [("address", USER), ("address", USER)],
                                 ["int256", "int256", "uint160", "uint128", "int24"],
                                 [-5, 10, 2**96, 10**18, -887272]))
    assert update.kind is PoolUpdateKind.V3_SWAP
    assert (update.amount0, update.amount1, update.sqrt_price_x96, update.liquidity, update.tick) == (
        -5, 10, 2**96, 10**18, -887272)


def test_v3_mint_and_burn_give_ticks_and_signed_liquidity_delta():
    mint = decode_log(make_log("Mint(address,address,int24,int24,uint128,uint256,uint256)",
                               [("address", USER), ("int24", -60), ("int24", 120)],
                               ["address", "uint128", "uint256", "uint256"], [USER, 1000, 3, 4]))
    burn = decode_log(make_log("Burn(address,int24,int24,uint128,uint256,uint256)",
                               [("address", USER), ("int24", -60), ("int24", 120)],
                               ["uint128", "uint256", "uint256"], [400, 1, 2]))
    assert (mint.kind, mint.tick_lower, mint.tick_upper, mint.liquidity_delta, mint.amount0, mint.amount1) == (
        PoolUpdateKind.V3_MINT, -60, 120, 1000, 3, 4)
    assert (burn.kind, burn.tick_lower, burn.tick_upper, burn.liquidity_delta) == (PoolUpdateKind.V3_BURN, -60, 120, -400)


def test_v3_initialize_and_factory_events():
    init = decode_log(make_log("Initialize(uint160,int24)", (), ["uint160", "int24"], [2**96, 0]))
    assert (init.kind, init.sqrt_price_x96, init.tick) == (PoolUpdateKind.V3_INITIALIZE, 2**96, 0)
    pair = decode_log(make_log("PairCreated(address,address,address,uint256)", [("address", T0), ("address", T1)],
                               ["address", "uint256"], [POOL, 1], address=FACTORY))
    assert (pair.kind, pair.pool, pair.token0, pair.token1, pair.factory) == (
        PoolUpdateKind.PAIR_CREATED, POOL, T0, T1, FACTORY)
    pool = decode_log(make_log("PoolCreated(address,address,uint24,int24,address)",
                               [("address", T0), ("address", T1), ("uint24", 500)], ["int24", "address"], [10, POOL],
                               address=FACTORY))
    assert (pool.kind, pool.pool, pool.fee_pips, pool.tick_spacing) == (PoolUpdateKind.POOL_CREATED, POOL, 500, 10)


def test_unrelated_events_decode_to_none():
    assert decode_log(make_log("Transfer(address,address,uint256)", [("address", USER), ("address", USER)],
                               ["uint256"], [1])) is None
    assert decode_log({"address": POOL, "topics": [], "data": "0x"}) is None


@pytest.mark.parametrize("entry, where", [
    (make_log("Sync(uint112,uint112)", (), ["uint256", "uint256"], [2**112, 1]), "reserve0"),
    (make_log("Sync(uint112,uint112)", (), ["uint112"], [1]), "data"),
    (make_log(V3_SWAP, [("address", USER), ("address", USER)], ["int256", "int256", "uint160", "uint128", "int256"],
              [1, 1, 1, 1, 2**23]), "tick"),
    (make_log(V3_SWAP, [("address", USER)], ["int256", "int256", "uint160", "uint128", "int24"], [1, 1, 1, 1, 1]),
     "topics"),
    (make_log(V2_SWAP, [("uint256", 2**200), ("address", USER)], ["uint256"] * 4, [1, 0, 0, 1]), "sender"),
    (make_log("Sync(uint112,uint112)", (), ["uint112", "uint112"], [1, 1], data="0xzz"), "log envelope"),
    (make_log("Sync(uint112,uint112)", (), ["uint112", "uint112"], [1, 1], address=12), "log envelope"),
    (make_log("Sync(uint112,uint112)", (), ["uint112", "uint112"], [1, 1], blockNumber="0xq"), "log envelope"),
])
def test_malformed_logs_raise_a_typed_error_naming_the_field(entry, where):
    with pytest.raises(LogDecodeError) as info:
        decode_log(entry)
    assert info.value.where == where


def test_log_parser_counts_errors_and_drops_events_from_unknown_emitters():
    registry = PoolRegistry(dexes=[DexInfo("uniswap_v2", PoolKind.V2, FACTORY)])
    registry.add_pool(PoolInfo(POOL, "uniswap_v2", PoolKind.V2, T0, T1, 3000))
    parser = LogParser(registry)
    sync = make_log("Sync(uint112,uint112)", (), ["uint112", "uint112"], [5, 7])
    stranger = dict(sync, address="0x" + "66" * 20)
    v3_event_from_v2_pool = make_log("Initialize(uint160,int24)", (), ["uint160", "int24"], [2**96, 0])
    broken = dict(sync, data="0x01")
    updates = parser.parse_many([sync, stranger, v3_event_from_v2_pool, broken])
    assert [u.kind for u in updates] == [PoolUpdateKind.V2_SYNC]
    assert parser.counters == {"decoded": 1, "unknown_emitter": 2, "log_decode_error": 1}


def test_log_parser_registers_pairs_created_by_a_known_factory_so_their_first_sync_is_kept():
    registry = PoolRegistry(dexes=[DexInfo("uniswap_v2", PoolKind.V2, FACTORY)])
    parser = LogParser(registry)
    new_pool = "0x" + "77" * 20
    created = make_log("PairCreated(address,address,address,uint256)", [("address", T0), ("address", T1)],
                       ["address", "uint256"], [new_pool, 1], address=FACTORY)
    sync = make_log("Sync(uint112,uint112)", (), ["uint112", "uint112"], [5, 7], address=new_pool)
    assert len(parser.parse_many([created, sync])) == 2
    assert registry.pool(new_pool).token0 == T0
