"""The devnet feed relay speaks Nitro's broadcaster protocol: same frames, same resume rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
from eth_utils import keccak
from trio_websocket import open_websocket_url

from mevbot.devnet.abi import encode_call
from mevbot.devnet.jsonrpc import ChainRpc
from mevbot.feed.codec import decode_broadcast, recover_feed_signer, split_l2_batch

pytestmark = pytest.mark.devnet

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "feed-samples" / "rh-frames.jsonl"
if not SAMPLES.exists():  # CI clones main with shared/ beside it; here it lives at /work/shared
    SAMPLES = Path("/work/shared/feed-samples/rh-frames.jsonl")
REQUESTED = b"Arbitrum-Requested-Sequence-Number"


async def collect(url: str, *, until_seq: int, requested: int | None = None, timeout_s: float = 20.0):
    """Every message (sequence number order as received) up to ``until_seq``, and the first frame's JSON."""
    headers = [(REQUESTED, str(requested).encode())] if requested is not None else []
    messages, first_frame = [], None
    with trio.fail_after(timeout_s):
        async with open_websocket_url(url, extra_headers=headers) as ws:
            while not messages or messages[-1].sequence_number < until_seq:
                text = await ws.get_message()
                frame = decode_broadcast(text)
                if frame.messages and first_frame is None:
                    first_frame = json.loads(text)
                messages.extend(frame.messages)
    return messages, first_frame


async def wait_for_block(rpc: ChainRpc, number: int) -> None:
    with trio.fail_after(20):
        while int(await rpc.call("eth_blockNumber"), 16) < number:
            await trio.sleep(0.05)  # polling the chain's real head, with a deadline


def key_shape(value):
    if isinstance(value, dict):
        return {k: key_shape(v) for k, v in value.items() if k not in ("blockMetadata",)}
    return type(value).__name__ if value is not None else "null"


async def test_relay_frames_decode_with_the_codec_and_have_the_shape_of_real_nitro_frames(devnet):
    lines = SAMPLES.read_text().splitlines()
    assert all(decode_broadcast(line) for line in lines)  # the same codec reads the real frames...
    real = next(json.loads(line) for line in lines if '"messages"' in line)
    head = int(devnet.rpc.call("eth_blockNumber"), 16)
    _, ours = await collect(devnet.feed_url, until_seq=head, requested=head)  # ...and ours
    real_message, our_message = real["messages"][0], ours["messages"][0]
    assert key_shape(our_message) == key_shape(real_message)
    assert our_message["message"]["message"]["header"]["kind"] == 3
    assert our_message["message"]["message"]["header"]["sender"] == "0xa4b000000000000000000073657175656e636572"


async def test_relay_message_carries_exactly_the_blocks_transactions_of_every_envelope_type(devnet):
    usdc = devnet.token("USDC")["address"]
    sender = devnet.account(6)
    hashes = [devnet.send_transaction(sender, usdc, encode_call("transfer(address,uint256)", devnet.account(7).address, 1),
                                      gas=100_000, tx_type=tx_type) for tx_type in (2, 0, 1)]
    receipts = [devnet.wait_for_receipt(h) for h in hashes]
    blocks = sorted({int(r["blockNumber"], 16) for r in receipts})

    messages, _ = await collect(devnet.feed_url, until_seq=blocks[-1], requested=blocks[0])

    by_seq = {m.sequence_number: m for m in messages}
    seen = []
    for number in blocks:
        block = devnet.rpc.call("eth_getBlockByNumber", hex(number), False)
        message = by_seq[number - devnet.manifest["feed"]["sequence_number_offset"]]
        payloads = [s.payload for s in split_l2_batch(message.message.message.l2_msg)]
        assert ["0x" + keccak(p).hex() for p in payloads] == block["transactions"]
        assert "0x" + message.block_hash.hex() == block["hash"]
        assert recover_feed_signer(message, devnet.chain_id) == devnet.manifest["feed"]["signer"]
        seen += block["transactions"]
    assert set(hashes) <= set(seen)


async def test_resume_with_requested_sequence_number_has_no_gap_and_no_duplicate(devnet):
    head = int(devnet.rpc.call("eth_blockNumber"), 16)
    first, _ = await collect(devnet.feed_url, until_seq=head + 2, requested=head)
    last_seen = first[-1].sequence_number
    async with ChainRpc(devnet.rpc_url) as rpc:
        await wait_for_block(rpc, last_seen + 4)  # the client is away while blocks go on

    resumed, _ = await collect(devnet.feed_url, until_seq=last_seen + 8, requested=last_seen + 1)

    numbers = [m.sequence_number for m in resumed]
    assert numbers == list(range(last_seen + 1, last_seen + 1 + len(numbers)))


async def test_requested_number_past_the_tail_replays_the_whole_backlog_like_nitro(devnet):
    head = int(devnet.rpc.call("eth_blockNumber"), 16)
    whole, _ = await collect(devnet.feed_url, until_seq=head + 3)  # no header: the whole backlog

    past_tail, _ = await collect(devnet.feed_url, until_seq=head + 3, requested=head + 1_000_000)

    numbers = [m.sequence_number for m in past_tail]
    assert numbers[0] == whole[0].sequence_number < whole[-1].sequence_number  # from the backlog's start
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


async def test_relay_sends_confirmed_sequence_numbers_behind_the_tail(devnet):
    latest = None
    with trio.fail_after(10):
        async with open_websocket_url(devnet.feed_url) as ws:
            while True:
                frame = decode_broadcast(await ws.get_message())
                if frame.messages:
                    latest = frame.messages[-1].sequence_number
                if frame.confirmed_sequence_number is not None and latest is not None:
                    break
    assert 0 <= frame.confirmed_sequence_number < latest


async def test_a_client_leaving_abruptly_does_not_disturb_the_others(devnet):
    from mevbot.devnet.relay import FeedRelay

    async with ChainRpc(devnet.rpc_url) as rpc, trio.open_nursery() as nursery:
        relay = FeedRelay(rpc, devnet.ws_url, chain_id=devnet.chain_id, sign=False)
        port = await nursery.start(relay.run, "127.0.0.1", 0)
        url = f"ws://127.0.0.1:{port}/feed"
        leaving = await trio.open_tcp_stream("127.0.0.1", port)  # a raw client: upgrade, then vanish
        await leaving.send_all(b"GET /feed HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert b" 101 " in await leaving.receive_some(4096)
        await leaving.aclose()  # no closing handshake
        head = int(await rpc.call("eth_blockNumber"), 16)

        messages, _ = await collect(url, until_seq=head + 3, requested=head)

        numbers = [m.sequence_number for m in messages]
        assert numbers == list(range(numbers[0], head + 4))
        nursery.cancel_scope.cancel()
