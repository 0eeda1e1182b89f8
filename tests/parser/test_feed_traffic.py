"""The parser on the live devnet feed: the noise traders' swaps through every router kind they
use, read from the Nitro feed relay as the bot reads them (the signed transaction only, before
any receipt is asked for), resolve to the pools that swapped, with their tokens and amounts; and
the pool updates decoded from those blocks' logs equal the pools' state on chain after the block.

The receipts are fetched only afterwards, as the ground truth to compare with.
"""

from __future__ import annotations

from collections import Counter

import pytest
import trio

from mevbot.devnet.abi import encode_call
from mevbot.devnet.accounts import TRADER_INDICES, dev_account
from mevbot.devnet.traders import KINDS, TrafficOptions, run_traffic
from mevbot.feed.client import FeedClient
from mevbot.parser.calldata import parser_from_manifest
from mevbot.parser.logs import decode_log
from mevbot.parser.messages import PoolUpdateKind
from mevbot.pools.registry import PoolRegistry

pytestmark = pytest.mark.devnet

SWAPS = (PoolUpdateKind.V2_SWAP, PoolUpdateKind.V3_SWAP)


async def feed_router_txs(devnet, first_block: int, expected: int) -> list[tuple[int, object]]:
    """(seq, tx) of every trader transaction to a router in feed blocks from ``first_block``."""
    routers = set(parser_from_manifest(devnet.manifest, PoolRegistry.from_manifest(devnet.manifest)).routers)
    traders = {dev_account(i).address.lower() for i in TRADER_INDICES}
    send, receive = trio.open_memory_channel(10_000)
    found: list[tuple[int, object]] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(FeedClient([devnet.feed_url], on_block=send, chain_id=devnet.chain_id).run)
        with trio.fail_after(60):
            async for block in receive:
                if block.block_number < first_block:
                    continue  # the relay's backlog: earlier tests' blocks
                for tx in block.transactions:
                    to = tx.to_bytes
                    if to is not None and "0x" + to.hex() in routers and tx.sender.lower() in traders:
                        found.append((block.sequence_number, tx))
                if len(found) >= expected:
                    break
        nursery.cancel_scope.cancel()
    return found


async def test_noise_trades_read_from_the_feed_decode_into_the_pools_tokens_and_amounts_that_executed(devnet):
    parser = parser_from_manifest(devnet.manifest, PoolRegistry.from_manifest(devnet.manifest))
    first_block = int(devnet.rpc.call("eth_blockNumber"), 16) + 1
    stats = await run_traffic(devnet.manifest, TrafficOptions(seed=31, rate_per_s=40.0, count=2 * len(KINDS)))
    assert stats.sent == 2 * len(KINDS) and set(stats.by_kind) == set(KINDS), stats
    txs = await feed_router_txs(devnet, first_block, stats.sent)
    assert len(txs) == stats.sent

    methods: Counter[str] = Counter()
    checked_amounts = 0
    for seq, tx in txs:
        intents = parser.parse_feed_transaction(tx, seq=seq)  # calldata only: no receipt involved
        receipt = devnet.rpc.call("eth_getTransactionReceipt", tx.hash_hex)
        if receipt["status"] != "0x1":
            continue
        swaps = [u for u in map(decode_log, receipt["logs"]) if u is not None and u.kind in SWAPS]
        assert intents and all(i.all_pools_known for i in intents), (tx.hash_hex, intents)
        assert [p for i in intents for p in i.pools] == [s.pool for s in swaps], tx.hash_hex
        assert intents[0].position.seq == seq and intents[0].tx_hash == tx.hash_hex
        hops = [hop for i in intents for hop in i.hops]
        for hop, swap in zip(hops, swaps):
            pool = parser.registry.pool(swap.pool)
            received = swap.amount0 if hop.token_in == pool.token0 else swap.amount1
            paid = swap.amount1 if hop.token_in == pool.token0 else swap.amount0
            assert received > 0 > paid, f"{tx.hash_hex}: hop {hop} does not match the pool's deltas {swap}"
        for intent in intents:
            methods[intent.method] += 1
            first = swaps[[p for i in intents for p in i.pools].index(intent.pools[0])]
            pool = parser.registry.pool(first.pool)
            received = first.amount0 if intent.token_in == pool.token0 else first.amount1
            if intent.exact_input and intent.amount_in is not None:
                assert received == intent.amount_in, tx.hash_hex  # exactly what the calldata sold
                checked_amounts += 1
            elif not intent.exact_input:
                assert received <= intent.amount_in_max, tx.hash_hex
    assert checked_amounts >= len(KINDS) // 2
    assert {"swapExactTokensForTokens", "swapTokensForExactTokens", "swapExactETHForTokens",
            "swapETHForExactTokens", "swapExactTokensForETH", "swapTokensForExactETH",
            "exactInputSingle", "exactInput"} <= set(methods), methods


def _word(data: bytes, i: int) -> int:
    return int.from_bytes(data[32 * i:32 * i + 32], "big")


async def test_pool_updates_from_the_feed_blocks_logs_equal_the_pools_state_after_the_block(devnet):
    first_block = int(devnet.rpc.call("eth_blockNumber"), 16) + 1
    stats = await run_traffic(devnet.manifest, TrafficOptions(seed=32, rate_per_s=40.0, count=len(KINDS)))
    last_block = int(devnet.rpc.call("eth_blockNumber"), 16)
    logs = devnet.rpc.call("eth_getLogs", {"fromBlock": hex(first_block), "toBlock": hex(last_block)})
    latest: dict[tuple[int, str], object] = {}  # the last update of each pool in each block
    for update in filter(None, map(decode_log, logs)):
        if update.kind in (PoolUpdateKind.V2_SYNC, PoolUpdateKind.V3_SWAP):
            latest[(update.block_number, update.pool)] = update
    assert stats.succeeded and {u.kind for u in latest.values()} == {PoolUpdateKind.V2_SYNC, PoolUpdateKind.V3_SWAP}
    for (block, pool), update in latest.items():
        if update.kind is PoolUpdateKind.V2_SYNC:
            reserves = devnet.call(pool, encode_call("getReserves()"), hex(block))
            assert (update.reserve0, update.reserve1) == (_word(reserves, 0), _word(reserves, 1)), (block, pool)
        else:
            slot0 = devnet.call(pool, encode_call("slot0()"), hex(block))
            liquidity = _word(devnet.call(pool, encode_call("liquidity()"), hex(block)), 0)
            tick = _word(slot0, 1)
            tick = tick - (1 << 256) if tick >> 255 else tick
            assert (update.sqrt_price_x96, update.tick, update.liquidity) == (_word(slot0, 0), tick, liquidity), (
                block, pool)
