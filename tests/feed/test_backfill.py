"""The monitor module fills a feed gap from RPC: the devnet relay's real messages are served with
one missing, and the bot's bus still carries every sequence number once, in order, the missing
one rebuilt from the chain with exactly that block's transactions, before the block that
revealed the gap."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import trio

from mevbot.devnet.abi import encode_call
from mevbot.feed.codec import encode_broadcast
from mevbot.feed.messages import BroadcastMessage
from mevbot.feed.module import TOPIC_FEED_BLOCK
from tests.devnet.test_relay import collect
from tests.feed.feed_server import SampleFeedServer
from tests.fixtures.botconfig import bot_on_feed

pytestmark = pytest.mark.devnet


def transfers_in_separate_blocks(devnet, count: int) -> list[int]:
    """Send ``count`` token transfers one block apart; the numbers of their blocks."""
    usdc = devnet.token("USDC")["address"]
    sender, receiver = devnet.account(6), devnet.account(7).address
    blocks = []
    for _ in range(count):
        receipt = devnet.transact(sender, usdc, encode_call("transfer(address,uint256)", receiver, 1), gas=100_000)
        blocks.append(int(receipt["blockNumber"], 16))
    return blocks


async def test_a_dropped_feed_message_is_backfilled_from_the_chain_in_sequence_order(devnet):
    offset = devnet.manifest["feed"]["sequence_number_offset"]
    blocks = transfers_in_separate_blocks(devnet, 3)
    first, last = blocks[0] - offset, blocks[-1] - offset
    messages, _ = await collect(devnet.feed_url, until_seq=last, requested=first)
    messages = [m for m in messages if first <= m.sequence_number <= last]
    dropped = blocks[1] - offset  # a block with our transfer in it
    frames = [encode_broadcast(BroadcastMessage(version=1, messages=[m])).decode()
              for m in messages if m.sequence_number != dropped]

    with tempfile.TemporaryDirectory(prefix="mbfill") as name:  # short: the control socket's path limit
        workdir = Path(name)
        async with trio.open_nursery() as nursery:
            server = SampleFeedServer(frames)
            await server.start(nursery)
            bot = bot_on_feed(devnet, workdir, server.url, ["monitor"])
            published = bot.bus.subscribe(TOPIC_FEED_BLOCK, name="test.feed")
            await nursery.start(bot.run)
            got = []
            with trio.fail_after(30):
                while not got or got[-1].sequence_number < last:
                    got.append((await published.receive()).payload)
            bot.request_stop()
            server.kill()

    assert [b.sequence_number for b in got] == list(range(first, last + 1))
    by_seq = {b.sequence_number: b for b in got}
    assert by_seq[dropped].problems == ("backfilled from RPC",)
    assert all(not b.problems for s, b in by_seq.items() if s != dropped)
    chain_block = devnet.rpc.call("eth_getBlockByNumber", hex(blocks[1]), False)
    assert [tx.hash_hex for tx in by_seq[dropped].transactions] == chain_block["transactions"] != []
    assert "0x" + by_seq[dropped].block_hash.hex() == chain_block["hash"]
