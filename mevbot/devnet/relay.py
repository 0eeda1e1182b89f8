"""A Nitro-format sequencer feed for the devnet: one BroadcastMessage per anvil block.

Speaks the Arbitrum Nitro broadcaster protocol over WebSocket the way ``wss://arb1.arbitrum.io/feed``
does, so the bot's monitor runs unchanged against the devnet:

* every sequenced devnet block becomes one message: kind 3 (L2 message), sender
  0xa4b000000000000000000073657175656e636572, ``l2Msg`` = a batch of the block's signed txs
  (raw envelopes from ``eth_getRawTransactionByHash``, in block order), the block's hash, and
  optionally ``signatureV2`` by the devnet's feed-signer key;
* sequence number = devnet block number (the devnet's mapping; Arbitrum One's is block number
  - 22207817); the manifest records the offset (0);
* every ``confirm_interval_s`` a ``confirmedSequenceNumberMessage``;
* on connect, the backlog, as Nitro's wsbroadcastserver sends it: from the requested sequence
  number (header ``Arbitrum-Requested-Sequence-Number``) if the backlog holds it, else the whole
  backlog (no header, a number before the backlog's start, or a number past its tail), in frames
  of at most 240 messages; then live messages, with no gap and no duplicate.

One deviation, for the devnet's sake: Nitro prunes its backlog up to each confirmed sequence
number; this relay keeps the last ``backlog_size`` messages instead, so a client that was away
for a while can still resume without a gap. Encoding is mevbot.feed.codec's, the same codec the
monitor decodes with.
"""

from __future__ import annotations

import collections
import json
import logging
from collections.abc import Iterable
from typing import Any

import attrs
import trio
from eth_keys import keys
from eth_utils import keccak
from trio_websocket import ConnectionClosed, HandshakeError, WebSocketRequest, open_websocket_url, serve_websocket

from mevbot.devnet.errors import ChainRpcError
from mevbot.devnet.jsonrpc import ChainRpc
from mevbot.feed.codec import encode_broadcast, encode_l2_batch, sign_feed_message
from mevbot.feed.messages import (
    SEQUENCER_SENDER,
    BroadcastFeedMessage,
    BroadcastMessage,
    L1IncomingMessage,
    L1IncomingMessageHeader,
    MessageWithMetadata,
)

log = logging.getLogger(__name__)

L1_MESSAGE_TYPE_L2_MESSAGE = 3
SEGMENT_LIMIT = 240  # Nitro's default backlog segment size: the most messages in one backlog frame
SEQUENCE_NUMBER_OFFSET = 0  # devnet: L2 block number = sequence number + 0
HEADER_REQUESTED = "arbitrum-requested-sequence-number"
FEED_SERVER_VERSION = 2
# A public test key (keccak of a fixed phrase), so that the devnet's feed can be signed and its
# signer published in the manifest; it guards nothing.
FEED_SIGNER_KEY = keccak(text="mevbot devnet feed signer")


def feed_signer_address() -> str:
    return keys.PrivateKey(FEED_SIGNER_KEY).public_key.to_checksum_address()


def block_message(block: dict[str, Any], raw_txs: list[bytes], *, chain_id: int, sign: bool) -> BroadcastFeedMessage:
    """The feed message of one anvil block (``block`` as eth_getBlockByNumber returns it)."""
    number = int(block["number"], 16)
    header = L1IncomingMessageHeader(kind=L1_MESSAGE_TYPE_L2_MESSAGE, sender=SEQUENCER_SENDER,
                                     block_number=number, timestamp=int(block["timestamp"], 16),
                                     request_id=None, base_fee_l1=0)
    message = BroadcastFeedMessage(
        sequence_number=number - SEQUENCE_NUMBER_OFFSET,
        message=MessageWithMetadata(L1IncomingMessage(header, encode_l2_batch(raw_txs)), delayed_messages_read=1),
        block_hash=bytes.fromhex(block["hash"][2:]),
    )
    return sign_feed_message(message, chain_id, FEED_SIGNER_KEY) if sign else message


def _notified_head(text: str | bytes, head: int) -> int:
    """The block number a newHeads notification announces (the old head for anything else)."""
    try:
        number = json.loads(text)["params"]["result"]["number"]
        return max(head, int(number, 16))
    except (ValueError, KeyError, TypeError):
        return head + 1  # the subscription reply, or an odd message: look one block further


def parse_requested_sequence_number(value: str | None) -> int | None:
    """The header's value, or None when absent or not a non-negative integer (Nitro: 0)."""
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


class FeedBacklog:
    """The last ``size`` messages, and Nitro's rule for what a connecting client gets."""

    def __init__(self, size: int) -> None:
        self._messages: collections.deque[BroadcastFeedMessage] = collections.deque(maxlen=size)

    def append(self, message: BroadcastFeedMessage) -> None:
        if self._messages and message.sequence_number != self._messages[-1].sequence_number + 1:
            self._messages.clear()  # a jump: older messages no longer lead up to this one (as Nitro)
        self._messages.append(message)

    @property
    def tail(self) -> int | None:
        return self._messages[-1].sequence_number if self._messages else None

    def replay_for(self, requested: int | None) -> list[BroadcastFeedMessage]:
        if not self._messages:
            return []
        start = self._messages[0].sequence_number
        if requested is None or requested <= start or requested > self._messages[-1].sequence_number:
            return list(self._messages)
        return list(self._messages)[requested - start:]


def backlog_frames(messages: list[BroadcastFeedMessage]) -> Iterable[bytes]:
    for i in range(0, len(messages), SEGMENT_LIMIT):
        yield encode_broadcast(BroadcastMessage(version=1, messages=messages[i:i + SEGMENT_LIMIT]))


@attrs.define(eq=False)  # identity: each connection is its own client
class _Client:
    name: str
    send: trio.MemorySendChannel[bytes]


class FeedRelay:
    """Follows anvil's blocks and serves them as a Nitro feed to any number of clients."""

    def __init__(self, rpc: ChainRpc, ws_url: str, *, chain_id: int, backlog_size: int = 4096, sign: bool = True,
                 confirm_interval_s: float = 1.0, confirm_lag: int = 8, client_queue: int = 4096) -> None:
        self.rpc = rpc
        self.ws_url = ws_url
        self.chain_id = chain_id
        self.sign = sign
        self.confirm_interval_s = confirm_interval_s
        self.confirm_lag = confirm_lag
        self.client_queue = client_queue
        self.backlog = FeedBacklog(backlog_size)
        self._clients: set[_Client] = set()
        self.blocks_relayed = 0

    async def run(self, host: str = "127.0.0.1", port: int = 0, *,
                  task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; ``task_status.started(port)`` once the socket listens."""
        first_block = int(await self.rpc.call("eth_blockNumber"), 16) + 1
        async with trio.open_nursery() as nursery:
            server = await nursery.start(serve_websocket, self._handle, host, port, None)
            nursery.start_soon(self._follow_blocks, first_block)
            nursery.start_soon(self._confirm_periodically)
            task_status.started(server.port)

    # --- producing -------------------------------------------------------------------------
    async def _follow_blocks(self, number: int) -> None:
        """Relay every block from ``number`` on, woken by anvil's newHeads subscription.

        Each notification only says "the head is now N"; we then relay every block up to N, so
        a missed or coalesced notification never loses a block.
        """
        while True:
            try:
                async with open_websocket_url(self.ws_url) as ws:
                    await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe",
                                                      "params": ["newHeads"]}))
                    head = int(await self.rpc.call("eth_blockNumber"), 16)
                    while True:
                        number = await self._relay_through(number, head)
                        head = _notified_head(await ws.get_message(), head)
            except (OSError, HandshakeError, ConnectionClosed, ChainRpcError) as exc:
                log.warning("feed relay: following anvil's blocks failed at block %d, retrying: %s", number, exc)
                await trio.sleep(0.5)

    async def _relay_through(self, number: int, head: int) -> int:
        while number <= head:
            block = await self.rpc.call("eth_getBlockByNumber", hex(number), False)
            if block is None:
                break
            raw = await self.rpc.batch([("eth_getRawTransactionByHash", [h]) for h in block["transactions"]])
            message = block_message(block, [bytes.fromhex(r[2:]) for r in raw], chain_id=self.chain_id, sign=self.sign)
            self.backlog.append(message)
            self._broadcast(encode_broadcast(BroadcastMessage(version=1, messages=[message])))
            self.blocks_relayed += 1
            number += 1
        return number

    async def _confirm_periodically(self) -> None:
        while True:
            await trio.sleep(self.confirm_interval_s)
            tail = self.backlog.tail
            if tail is not None and tail - self.confirm_lag >= 0:
                self._broadcast(encode_broadcast(BroadcastMessage(version=1, messages=[],
                                                                  confirmed_sequence_number=tail - self.confirm_lag)))

    def _broadcast(self, frame: bytes) -> None:
        for client in list(self._clients):
            try:
                client.send.send_nowait(frame)
            except trio.WouldBlock:
                log.warning("feed relay: client %s is too slow (%d frames queued); disconnecting it",
                            client.name, self.client_queue)
                self._drop(client)
            except trio.BrokenResourceError:
                self._drop(client)

    def _drop(self, client: _Client) -> None:
        self._clients.discard(client)
        client.send.close()

    # --- serving ---------------------------------------------------------------------------
    async def _handle(self, request: WebSocketRequest) -> None:
        try:
            await self._serve_client(request)
        except Exception:  # one client's failure must never stop the relay for the others
            log.exception("feed relay: a client connection failed")

    async def _serve_client(self, request: WebSocketRequest) -> None:
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in request.headers}
        requested = parse_requested_sequence_number(headers.get(HEADER_REQUESTED))
        socket = await request.accept(extra_headers=[
            (b"Arbitrum-Feed-Server-Version", str(FEED_SERVER_VERSION).encode()),
            (b"Arbitrum-Chain-Id", str(self.chain_id).encode()),
        ])
        send, receive = trio.open_memory_channel[bytes](self.client_queue)
        remote = socket.remote
        client = _Client(name=f"{getattr(remote, 'address', remote)}:{getattr(remote, 'port', '')}", send=send)
        # No await between the snapshot and the registration: every later block reaches the
        # queue, every earlier one is in the snapshot, so the client sees no gap and no duplicate.
        replay = self.backlog.replay_for(requested)
        self._clients.add(client)
        try:
            for frame in backlog_frames(replay):
                await socket.send_message(frame.decode())
            async with receive:
                async for frame in receive:
                    await socket.send_message(frame.decode())
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)
            send.close()
            await socket.aclose()
