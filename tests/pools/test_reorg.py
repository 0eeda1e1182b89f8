"""A feed reorg corrects the state downstream: monitor, parser and pipeline run as in the bot, on
the devnet; the feed announces a swap at sequence S, then re-sends S with another block hash and
without it, and the pipeline's speculative state of that pool goes back to what the chain says.

The swap is a real signed router call that is never sent to the chain (its nonce is far ahead),
so no receipt or log can reconcile it: only the reorg can take it back.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import attrs
import pytest
import trio

from mevbot.devnet.abi import encode_call
from mevbot.devnet.chain import sign_typed
from mevbot.feed.codec import encode_broadcast, encode_l2_batch
from mevbot.feed.messages import BroadcastMessage
from mevbot.pools.messages import TOPIC_POOL_STATE
from tests.devnet.test_relay import collect
from tests.feed.feed_server import SampleFeedServer
from tests.fixtures.botconfig import bot_on_feed

pytestmark = pytest.mark.devnet


def unsent_swap(devnet) -> bytes:
    """A signed WETH -> USDC swap through the Uniswap V2 router that the chain never sees."""
    weth, usdc = devnet.token("WETH")["address"], devnet.token("USDC")["address"]
    trader = devnet.account(8)
    data = encode_call("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                       10**18, 0, [weth, usdc], trader.address, 2**40)
    return sign_typed(trader, 2, chain_id=devnet.chain_id, nonce=10**6, to=devnet.manifest["contracts"]["uniswap_v2"]
                      ["router"], data=data, gas=300_000)


async def test_a_reorged_feed_message_takes_its_swaps_speculative_state_back(devnet):
    pool = devnet.pool("uniswap_v2", "WETH", "USDC")["address"].lower()
    head = int(devnet.rpc.call("eth_blockNumber"), 16) - devnet.manifest["feed"]["sequence_number_offset"]
    (template, *_), _ = await collect(devnet.feed_url, until_seq=head, requested=head)
    seq = head + 10_000  # far past the chain: nothing to backfill, no log will ever match it
    inner = template.message.message
    with_swap = attrs.evolve(template, sequence_number=seq, block_hash=b"\x01" * 32, signature=None, message=attrs.evolve(
        template.message, message=attrs.evolve(inner, l2_msg=encode_l2_batch([unsent_swap(devnet)]))))
    replaced = attrs.evolve(with_swap, block_hash=b"\x02" * 32, message=attrs.evolve(
        template.message, message=attrs.evolve(inner, l2_msg=encode_l2_batch([]))))
    frames = [encode_broadcast(BroadcastMessage(version=1, messages=[m])).decode() for m in (with_swap, replaced)]

    with tempfile.TemporaryDirectory(prefix="mbreorg") as name:  # short: the control socket's path limit
        workdir = Path(name)
        async with trio.open_nursery() as nursery:
            server = SampleFeedServer(frames, available=0)
            await server.start(nursery)
            bot = bot_on_feed(devnet, workdir, server.url, ["monitor", "parser", "pipeline"])
            states = bot.bus.subscribe(TOPIC_POOL_STATE, name="test.states")
            await nursery.start(bot.run)
            server.release(2)
            changes = []
            with trio.fail_after(30):
                while not changes or changes[-1].cause != "reorg":
                    changes.append((await states.receive()).payload)
            bot.request_stop()
            server.kill()

    def state_of(change):
        return next(e.state for e in change.entries if e.address.lower() == pool)

    confirmed = state_of(next(c for c in changes if c.cause == "snapshot"))
    (speculative,) = [c for c in changes if c.cause == "intent"]
    assert speculative.seq == seq and state_of(speculative) != confirmed
    assert state_of(speculative).reserve0 != confirmed.reserve0
    reorg = changes[-1]
    assert reorg.seq == seq and state_of(reorg) == confirmed
