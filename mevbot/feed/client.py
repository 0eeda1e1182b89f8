"""FeedClient: Nitro sequencer feeds in, decoded blocks out, each sequence number once and in order.

One task per feed URL holds a trio-websocket connection. Every frame is decoded; each of
its messages is optionally checked against the configured ``signatureV2`` signers, then
classified by the shared :class:`SequenceTracker` (the first copy of a number wins, later
copies are duplicates, a jump ahead is a gap, a re-sent number with another block hash is a
reorg), decoded into a :class:`FeedBlock` and handed to ``on_block`` in order.

Resume: on every (re)connect the client sends ``Arbitrum-Requested-Sequence-Number`` = the
last sequence number it accepted. Nitro then sends from that number on, so one duplicate
comes back and is dropped. Asking for last + 1 is tempting and wrong: when that number is
past the server's tail, Nitro sends its whole backlog instead. Reconnects back off
exponentially from ``backoff_initial_s`` to ``backoff_max_s`` and reset after a good frame.

Bad input never stops the client: a frame that does not decode, or a message whose signature
is wrong, is counted in the feed's :class:`FeedStats`, logged once with the URL and the
problem, and dropped; a rejected message does not move the watermark.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import h11
import trio
import wsproto.utilities
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    ConnectionTimeout,
    DisconnectionTimeout,
    HandshakeError,
    open_websocket_url,
)

from mevbot.feed.blocks import FeedBlock, decode_block
from mevbot.feed.codec import decode_broadcast
from mevbot.feed.errors import FeedDecodeError
from mevbot.feed.messages import BroadcastFeedMessage
from mevbot.feed.sequencing import FeedStats, SequenceTracker, Verdict
from mevbot.feed.signature import recover_feed_signer_bytes

REQUESTED_SEQUENCE_HEADER = b"Arbitrum-Requested-Sequence-Number"
# Everything a bad network or a server that is not a feed can raise; each means "reconnect".
# (A server answering garbage instead of an HTTP upgrade surfaces as h11's ProtocolError.)
CONNECTION_ERRORS = (
    OSError, HandshakeError, ConnectionClosed, ConnectionRejected, ConnectionTimeout, DisconnectionTimeout,
    trio.BrokenResourceError, h11.ProtocolError, wsproto.utilities.ProtocolError,
)
MAX_FRAME_BYTES = 16 * 1024 * 1024  # a catch-up frame can carry many messages

BlockSink = Callable[[FeedBlock], Awaitable[Any]]
FrameHook = Callable[[str, str | bytes], Any]  # (url, raw frame), before decoding (recording)
GapHook = Callable[[int, int], Awaitable[Any]]  # (first missing, last missing)
ReorgHook = Callable[[int, bytes | None, bytes | None], Awaitable[Any]]  # (seq, old hash, new hash)


class FeedClient:
    """Reads one or more Nitro feeds; see the module docstring for the contract.

    ``on_block`` is an async callable or a trio ``MemorySendChannel`` (its ``send`` is used).
    ``on_gap(first, last)`` is awaited before the block that revealed the gap, so a consumer
    can backfill those blocks from RPC; ``on_reorg(seq, old_hash, new_hash)`` before the new
    version of ``seq``. ``verify_signers`` (20-byte addresses) turns signature checks on;
    they need ``chain_id``. A number reported missing may still arrive late from another
    feed: it is published (out of order) only if ``publish_late_fills``, which defaults to
    "no ``on_gap`` hook" — with a hook, the consumer has already backfilled it.
    ``on_frame(url, frame)`` (synchronous) sees every raw frame before it is decoded, bad ones
    too: `mevbot record` keeps them for replay.
    """

    def __init__(
        self,
        urls: Iterable[str],
        *,
        on_block: BlockSink | trio.MemorySendChannel,
        on_gap: GapHook | None = None,
        on_reorg: ReorgHook | None = None,
        chain_id: int | None = None,
        verify_signers: Iterable[bytes] = (),
        genesis_block: int = 0,
        start_sequence: int | None = None,
        publish_late_fills: bool | None = None,
        on_frame: FrameHook | None = None,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 5.0,
        connect_timeout_s: float = 10.0,
        log: logging.Logger | None = None,
    ) -> None:
        self.urls = list(dict.fromkeys(urls))
        if not self.urls:
            raise ValueError("FeedClient needs at least one feed URL")
        self._send = on_block.send if hasattr(on_block, "send") else on_block
        self._on_gap = on_gap
        self._on_reorg = on_reorg
        self._on_frame = on_frame
        self.publish_late_fills = on_gap is None if publish_late_fills is None else publish_late_fills
        self.late_fills_dropped = 0
        self.chain_id = chain_id
        self.verify_signers = frozenset(verify_signers)
        if self.verify_signers and chain_id is None:
            raise ValueError("verify_signers needs chain_id: the feed signature binds the chain id")
        self.genesis_block = genesis_block
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.connect_timeout_s = connect_timeout_s
        self.log = log or logging.getLogger("mevbot.feed.client")
        self.tracker = SequenceTracker(start_sequence)
        self.stats = {url: FeedStats(url) for url in self.urls}
        self.confirmed_sequence_number: int | None = None
        self.published = 0
        self._publish_lock = trio.Lock()  # FIFO: blocks leave in the order they were accepted

    @property
    def last_sequence_number(self) -> int | None:
        """The resume watermark: the last sequence number accepted."""
        return self.tracker.last_sequence_number

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Read every feed until cancelled. Started means every feed's task is running."""
        async with trio.open_nursery() as nursery:
            for url in self.urls:
                nursery.start_soon(self._follow, url, name=f"feed {url}")
            task_status.started()

    async def _follow(self, url: str) -> None:
        stats = self.stats[url]
        backoff = self.backoff_initial_s
        while True:
            headers = []
            resume_from = self.tracker.last_sequence_number
            if resume_from is not None:
                headers.append((REQUESTED_SEQUENCE_HEADER, str(resume_from).encode()))
            try:
                async with open_websocket_url(
                    url, extra_headers=headers, max_message_size=MAX_FRAME_BYTES,
                    connect_timeout=self.connect_timeout_s, disconnect_timeout=1,
                ) as ws:
                    stats.connects += 1
                    stats.connected = True
                    self.log.info("feed %s: connected (resuming from %s)", url, resume_from)
                    while True:
                        frame = await ws.get_message()
                        await self._handle_frame(url, stats, frame)
                        backoff = self.backoff_initial_s
            except CONNECTION_ERRORS as exc:
                if stats.connected:
                    stats.disconnects += 1
                self.log.warning("feed %s: disconnected (%s: %s); retrying in %.2f s",
                                 url, type(exc).__name__, exc, backoff)
            finally:
                stats.connected = False
            await trio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max_s)

    async def feed_frame(self, url: str, frame: str | bytes) -> None:
        """Handle one frame as if ``url`` had just sent it (how a replay drives the client)."""
        await self._handle_frame(url, self.stats[url], frame)

    async def _handle_frame(self, url: str, stats: FeedStats, frame: str | bytes) -> None:
        now_ns = time.perf_counter_ns()
        if self._on_frame is not None:
            self._on_frame(url, frame)
        stats.frames += 1
        try:
            broadcast = decode_broadcast(frame)
        except FeedDecodeError as exc:
            stats.decode_errors += 1
            self.log.warning("feed %s: dropped a frame that does not decode: %s", url, exc)
            return
        if broadcast.confirmed_sequence_number is not None:
            confirmed = broadcast.confirmed_sequence_number
            if self.confirmed_sequence_number is None or confirmed > self.confirmed_sequence_number:
                self.confirmed_sequence_number = confirmed
        for msg in broadcast.messages:
            stats.messages += 1
            if self.verify_signers and not self._signed_by_allowed(url, stats, msg):
                continue
            arrival = self.tracker.observe(msg.sequence_number, msg.block_hash, now_ns, stats)
            if not arrival.publish:
                continue
            if arrival.verdict is Verdict.GAP_FILL and not self.publish_late_fills:
                self.late_fills_dropped += 1
                continue
            block = decode_block(msg, genesis_block=self.genesis_block, chain_id=self.chain_id)
            if block.problems:
                self.log.warning("feed %s: message %d: %s", url, msg.sequence_number, "; ".join(block.problems))
            async with self._publish_lock:
                if arrival.gap is not None:
                    self.log.warning("feed %s: sequence gap %d..%d", url, *arrival.gap)
                    if self._on_gap is not None:
                        await self._on_gap(*arrival.gap)
                if arrival.verdict is Verdict.REORG:
                    self.log.warning("feed %s: message %d re-sent with another block hash (reorg)", url, msg.sequence_number)
                    if self._on_reorg is not None:
                        await self._on_reorg(msg.sequence_number, arrival.previous_hash, msg.block_hash)
                await self._send(block)
                self.published += 1

    def _signed_by_allowed(self, url: str, stats: FeedStats, msg: BroadcastFeedMessage) -> bool:
        try:
            signer = recover_feed_signer_bytes(msg, self.chain_id)
        except FeedDecodeError as exc:
            problem = str(exc)
        else:
            if signer in self.verify_signers:
                return True
            problem = f"signatureV2 is from 0x{signer.hex()}, not a configured signer"
        stats.signature_rejections += 1
        self.log.warning("feed %s: dropped message %d: %s", url, msg.sequence_number, problem)
        return False

    def stats_summary(self) -> dict:
        return {
            "last_sequence_number": self.last_sequence_number,
            "confirmed_sequence_number": self.confirmed_sequence_number,
            "published": self.published,
            "gaps": self.tracker.gaps,
            "late_fills_dropped": self.late_fills_dropped,
            "reorgs": self.tracker.reorgs,
            "feeds": [s.summary() for s in self.stats.values()],
        }
