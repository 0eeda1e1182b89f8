"""A feed message as an L2 block: its header facts and its typed transactions. Pure.

One Nitro feed message produces one L2 block. :func:`decode_block` never raises for bad
content inside a well-formed message: a malformed ``l2Msg`` or transaction is recorded in
``FeedBlock.problems`` (and the rest of the block kept), EIP-4844 and Arbitrum-internal
envelopes are counted in ``skipped_types``, and transactions signed for another chain (when
``chain_id`` is given) are dropped into ``problems`` too. So a consumer always learns that
the sequence number exists, which is what gap and reorg tracking need.
"""

from __future__ import annotations

import struct

import attrs

from mevbot.feed.codec import L2_KIND_SIGNED_TX, split_l2_batch
from mevbot.feed.errors import FeedDecodeError, FrameDecodeError, UnsupportedTransactionType
from mevbot.feed.messages import L1_MESSAGE_KIND_L2_MESSAGE, BroadcastFeedMessage
from mevbot.feed.transactions import FeedTransaction


@attrs.frozen
class FeedBlock:
    """The decoded content of one feed message."""

    sequence_number: int
    block_number: int  # L2 block number: genesis_block + sequence_number
    timestamp: int  # seconds, from the L1 header the sequencer stamped
    block_hash: bytes | None
    l1_block_number: int
    delayed_messages_read: int
    l1_kind: int
    transactions: tuple[FeedTransaction, ...]
    skipped_types: int = 0  # EIP-4844 and Arbitrum's 0x64..0x6a envelopes
    other_segments: int = 0  # recognised non-transaction L2 kinds (heartbeats, unsigned txs...)
    problems: tuple[str, ...] = ()  # what was dropped from this block, and why


def decode_block(msg: BroadcastFeedMessage, *, genesis_block: int = 0, chain_id: int | None = None) -> FeedBlock:
    """Decode one feed message's transactions (see the module docstring).

    ``genesis_block`` is the L2 block number of sequence number 0 (22207817 on Arbitrum One,
    0 on chains born on Nitro). With ``chain_id``, each transaction's signed chain id is
    checked (pre-EIP-155 legacy transactions carry none and pass).
    """
    incoming = msg.message.message
    header = incoming.header
    transactions: list[FeedTransaction] = []
    problems: list[str] = []
    skipped = other = 0
    seq = msg.sequence_number
    if header.kind == L1_MESSAGE_KIND_L2_MESSAGE:
        try:
            segments = split_l2_batch(incoming.l2_msg)
        except FeedDecodeError as exc:
            segments = []
            problems.append(f"message {seq}: {exc}")
        index = 0
        for segment in segments:
            if segment.kind != L2_KIND_SIGNED_TX:
                other += 1
                continue
            try:
                tx = FeedTransaction(segment.payload, index)
                if chain_id is not None:
                    signed_for = tx.chain_id
                    if signed_for is not None and signed_for != chain_id:
                        problems.append(f"message {seq} tx {index}: signed for chain {signed_for}, expected {chain_id}")
                        index += 1
                        continue
                transactions.append(tx)
            except UnsupportedTransactionType:
                skipped += 1
            except FeedDecodeError as exc:
                problems.append(f"message {seq} tx {index}: {exc}")
            index += 1
    return FeedBlock(
        sequence_number=seq,
        block_number=genesis_block + seq,
        timestamp=header.timestamp,
        block_hash=msg.block_hash,
        l1_block_number=header.block_number,
        delayed_messages_read=msg.message.delayed_messages_read,
        l1_kind=header.kind,
        transactions=tuple(transactions),
        skipped_types=skipped,
        other_segments=other,
        problems=tuple(problems),
    )


# --- a compact binary form, for the bus (``register_message(FeedBlock, "feed.block",
# pack=pack_feed_block, unpack=unpack_feed_block)``): FeedTransaction is lazy, not a cattrs
# value, and its raw envelope is all a reader needs to decode it again.

_HEADER = struct.Struct(">QQQQQBIIB32sHI")  # ... has_hash, hash, problem count, tx count
_ITEM = struct.Struct(">II")  # index (or text length), byte length


def pack_feed_block(block: FeedBlock) -> bytes:
    problems = [p.encode() for p in block.problems]
    parts = [_HEADER.pack(block.sequence_number, block.block_number, block.timestamp, block.l1_block_number,
                          block.delayed_messages_read, block.l1_kind, block.skipped_types, block.other_segments,
                          block.block_hash is not None, block.block_hash or bytes(32), len(problems),
                          len(block.transactions))]
    for text in problems:
        parts += (_ITEM.pack(0, len(text)), text)
    for tx in block.transactions:
        parts += (_ITEM.pack(tx.index & 0xFFFFFFFF, len(tx.raw)), tx.raw)
    return b"".join(parts)


def unpack_feed_block(data: bytes) -> FeedBlock:
    """Inverse of :func:`pack_feed_block`; FrameDecodeError if ``data`` is not one."""
    try:
        (seq, number, timestamp, l1_block, delayed, kind, skipped, other, has_hash, block_hash,
         n_problems, n_txs) = _HEADER.unpack_from(data)
        pos = _HEADER.size
        problems = []
        for _ in range(n_problems):
            _, size = _ITEM.unpack_from(data, pos)
            pos += _ITEM.size
            problems.append(data[pos : pos + size].decode())
            pos += size
        transactions = []
        for _ in range(n_txs):
            index, size = _ITEM.unpack_from(data, pos)
            pos += _ITEM.size
            raw = data[pos : pos + size]
            if len(raw) != size:
                raise ValueError("truncated transaction")
            transactions.append(FeedTransaction(raw, index))
            pos += size
    except (struct.error, ValueError) as exc:
        raise FrameDecodeError(f"not a packed FeedBlock: {exc}") from None
    if pos != len(data):
        raise FrameDecodeError(f"not a packed FeedBlock: {len(data) - pos} bytes left over")
    return FeedBlock(seq, number, timestamp, block_hash if has_hash else None, l1_block, delayed, kind,
                     tuple(transactions), skipped, other, tuple(problems))
