"""The parser on what real Uniswap contracts produce: router calldata of transactions that
executed on anvil, and the logs those contracts emitted, cross-checked against eth_abi."""

import pytest
from eth_abi import decode

from mevbot.parser.calldata import parser_from_manifest
from mevbot.parser.logs import EVENT_SIGNATURES, LogParser, decode_log
from mevbot.parser.messages import FeedPosition, PoolUpdateKind
from mevbot.pools.registry import PoolRegistry
from tests.fixtures.anvil import AnvilNode
from tests.parser.chain import build_uniswap_chain

pytestmark = pytest.mark.devnet


@pytest.fixture(scope="module")
def uniswap():
    with AnvilNode() as node:
        yield build_uniswap_chain(node)


@pytest.fixture
def registry_and_parsers(uniswap):
    registry = PoolRegistry.from_manifest(uniswap.manifest)
    log_parser = LogParser(registry)
    updates = log_parser.parse_many(uniswap.logs())  # registers the pair and pool from their creation logs
    return registry, parser_from_manifest(uniswap.manifest, registry), log_parser, updates


def test_every_pool_event_kind_is_seen_from_the_real_contracts(registry_and_parsers):
    *_, updates = registry_and_parsers
    assert {u.kind for u in updates} == set(PoolUpdateKind)


def test_real_v2_router_swap_decodes_to_the_pair_that_emitted_the_swap(uniswap, registry_and_parsers):
    _, parser, _, _ = registry_and_parsers
    to, data, value = uniswap.inputs["v2_swap"]
    (intent,) = parser.parse(to, data, value, tx_hash="0x01", position=FeedPosition(1, 0))
    swap = next(u for u in map(decode_log, uniswap.receipts["v2_swap"]["logs"])
                if u and u.kind is PoolUpdateKind.V2_SWAP)
    assert intent.pools == (swap.pool,) == (uniswap.pair,)
    assert intent.all_pools_known and (intent.token_in, intent.token_out) == (uniswap.token_a, uniswap.token_b)
    assert intent.amount_in == swap.amount0 == 10**18


def test_real_v3_swap_router_call_decodes_to_the_pool_that_emitted_the_swap(uniswap, registry_and_parsers):
    _, parser, _, _ = registry_and_parsers
    to, data, value = uniswap.inputs["v3_swap"]
    (intent,) = parser.parse(to, data, value, tx_hash="0x02", position=FeedPosition(2, 0))
    swap = next(u for u in map(decode_log, uniswap.receipts["v3_swap"]["logs"])
                if u and u.kind is PoolUpdateKind.V3_SWAP)
    assert intent.pools == (swap.pool,) == (uniswap.pool,) and intent.all_pools_known
    assert intent.amount_in == swap.amount0 == 10**18 and intent.hops[0].fee_pips == 3000


def test_position_manager_calls_are_not_swaps(uniswap, registry_and_parsers):
    _, parser, _, _ = registry_and_parsers
    to, data, value = uniswap.inputs["v3_mint"]
    assert parser.parse(to, data, value, tx_hash="0x03", position=FeedPosition(3, 0)) == []


def _reference(entry):
    """eth_abi's decoding of a log, for the cross-check."""
    kind = decode_log(entry).kind
    sig = EVENT_SIGNATURES[kind.value]
    types = sig[sig.index("(") + 1:-1].split(",")
    indexed = {"v2_swap": [0, 5], "v3_swap": [0, 1], "v3_mint": [1, 2, 3], "v3_burn": [0, 1, 2],
               "pair_created": [0, 1], "pool_created": [0, 1, 2]}.get(kind.value, [])
    data_values = iter(decode([t for i, t in enumerate(types) if i not in indexed], bytes.fromhex(entry["data"][2:])))
    topic_values = iter(decode([t], bytes.fromhex(topic[2:]))[0] for t, topic in
                        zip([types[i] for i in indexed], entry["topics"][1:]))
    return kind, [next(topic_values) if i in indexed else next(data_values) for i in range(len(types))]


def test_hand_decoded_logs_agree_with_eth_abi_on_every_real_log(uniswap):
    checked = 0
    for entry in uniswap.logs():
        update = decode_log(entry)
        if update is None:
            continue
        kind, v = _reference(entry)
        expected = {
            PoolUpdateKind.V2_SYNC: lambda: (update.reserve0, update.reserve1) == (v[0], v[1]),
            PoolUpdateKind.V2_SWAP: lambda: (update.amount0, update.amount1) == (v[1] - v[3], v[2] - v[4]),
            PoolUpdateKind.V3_SWAP: lambda: (update.amount0, update.amount1, update.sqrt_price_x96, update.liquidity,
                                             update.tick) == tuple(v[2:]),
            PoolUpdateKind.V3_MINT: lambda: (update.tick_lower, update.tick_upper, update.liquidity_delta,
                                             update.amount0, update.amount1) == tuple(v[2:]),
            PoolUpdateKind.V3_BURN: lambda: (update.tick_lower, update.tick_upper, -update.liquidity_delta,
                                             update.amount0, update.amount1) == tuple(v[1:]),
            PoolUpdateKind.V3_INITIALIZE: lambda: (update.sqrt_price_x96, update.tick) == tuple(v),
            PoolUpdateKind.PAIR_CREATED: lambda: (update.token0, update.token1, update.pool) == tuple(
                a.lower() for a in v[:3]),
            PoolUpdateKind.POOL_CREATED: lambda: (update.token0, update.token1, update.fee_pips, update.tick_spacing,
                                                  update.pool) == (v[0].lower(), v[1].lower(), v[2], v[3], v[4].lower()),
        }[kind]
        assert expected(), (kind, v, update)
        assert update.block_number == int(entry["blockNumber"], 16) and update.log_index == int(entry["logIndex"], 16)
        checked += 1
    assert checked >= 8


async def test_logs_from_the_rpc_client_decode_like_the_raw_json_logs(uniswap):
    from mevbot.rpc.client import RpcClient

    async with RpcClient([uniswap.node.url]) as client:
        entries = await client.get_logs({"fromBlock": 0, "toBlock": "latest"})
    raw = {(l["transactionHash"], int(l["logIndex"], 16)): l for l in uniswap.logs()}
    decoded = [(decode_log(e), decode_log(raw[(e.transaction_hash, e.log_index)])) for e in entries
               if (e.transaction_hash, e.log_index) in raw]
    assert len([pair for pair in decoded if pair[0] is not None]) >= 8
    assert all(typed == json for typed, json in decoded)


def test_event_parser_from_a_manifest_watches_factories_and_pools_and_counts_both_sides(uniswap, tmp_path):
    from mevbot.parser.build import EventParser
    from mevbot.parser.settings import ParserSettings

    parser = EventParser.from_manifest(uniswap.manifest, ParserSettings(registry_db=str(tmp_path / "r.sqlite")))
    updates = parser.logs.parse_many(uniswap.logs())
    to, data, value = uniswap.inputs["v3_swap"]
    (intent,) = parser.calldata.parse(to, data, value, tx_hash="0x05", position=FeedPosition(5, 0))
    assert intent.all_pools_known and updates
    assert set(parser.watched_addresses()) == {uniswap.v2_factory, uniswap.v3_factory, uniswap.pair, uniswap.weth_pair, uniswap.pool}
    counters = parser.counters()
    assert counters["calldata.intents"] == 1 and counters["logs.decoded"] == len(updates)


def _swap_emitters(receipt, kind):
    return [u.pool for u in map(decode_log, receipt["logs"]) if u and u.kind is kind]


def test_real_eth_in_and_multi_hop_eth_out_router_swaps_resolve_to_the_pairs_that_swapped(uniswap, registry_and_parsers):
    _, parser, _, _ = registry_and_parsers
    to, data, value = uniswap.inputs["v2_swap_eth_in"]
    (eth_in,) = parser.parse(to, data, value, tx_hash="0x06", position=FeedPosition(6, 0))
    assert eth_in.native_in and eth_in.amount_in == 10**17 and eth_in.token_in == uniswap.weth
    assert eth_in.pools == tuple(_swap_emitters(uniswap.receipts["v2_swap_eth_in"], PoolUpdateKind.V2_SWAP))
    to, data, value = uniswap.inputs["v2_swap_multi_hop"]
    (multi,) = parser.parse(to, data, value, tx_hash="0x07", position=FeedPosition(7, 0))
    assert multi.native_out and multi.path == (uniswap.token_b, uniswap.token_a, uniswap.weth)
    assert multi.pools == (uniswap.pair, uniswap.weth_pair) == tuple(
        _swap_emitters(uniswap.receipts["v2_swap_multi_hop"], PoolUpdateKind.V2_SWAP))
    assert multi.all_pools_known


def test_real_v3_exact_output_and_multicall_swaps_resolve_to_the_pool_and_amounts_that_executed(
        uniswap, registry_and_parsers):
    _, parser, _, _ = registry_and_parsers
    to, data, value = uniswap.inputs["v3_swap_exact_out"]
    (exact_out,) = parser.parse(to, data, value, tx_hash="0x08", position=FeedPosition(8, 0))
    (swap,) = [u for u in map(decode_log, uniswap.receipts["v3_swap_exact_out"]["logs"])
               if u and u.kind is PoolUpdateKind.V3_SWAP]
    assert not exact_out.exact_input and exact_out.pools == (swap.pool,) == (uniswap.pool,)
    assert (exact_out.token_in, exact_out.token_out) == (uniswap.token_b, uniswap.token_a)
    assert exact_out.amount_out == -swap.amount0 == 10**17 and swap.amount1 <= exact_out.amount_in_max
    to, data, value = uniswap.inputs["v3_multicall"]
    (inner,) = parser.parse(to, data, value, tx_hash="0x09", position=FeedPosition(9, 0))
    (swap,) = [u for u in map(decode_log, uniswap.receipts["v3_multicall"]["logs"])
               if u and u.kind is PoolUpdateKind.V3_SWAP]
    assert inner.method == "exactInput" and inner.pools == (swap.pool,) and inner.amount_in == swap.amount0 == 10**16
