"""The Nitro broadcaster's wire types, as frozen attrs classes.

They mirror ``broadcaster/message`` (``BroadcastMessage``, ``BroadcastFeedMessage``,
``ConfirmedSequenceNumberMessage``) and ``arbos/arbostypes`` (``MessageWithMetadata``,
``L1IncomingMessage``, ``L1IncomingMessageHeader``) field for field, with bytes where Nitro
has bytes (addresses, hashes, base64 payloads) and ints where it has integers. The JSON
spelling of each field lives in :mod:`mevbot.feed.codec`, not here.
"""

from __future__ import annotations

import attrs

#: ``L1MessageType_*`` in Nitro's incomingmessage.go: the header's ``kind``.
L1_MESSAGE_KINDS = {
    3: "l2_message",
    6: "end_of_block",
    7: "l2_funded_by_l1",
    8: "rollup_event",
    9: "submit_retryable",
    10: "batch_for_gas_estimation",
    11: "initialize",
    12: "eth_deposit",
    13: "batch_posting_report",
    0xFF: "invalid",
}
L1_MESSAGE_KIND_L2_MESSAGE = 3

#: The sender of sequencer-built messages ("sequencer" right-aligned, with the 0xa4b prefix).
SEQUENCER_SENDER = bytes.fromhex("a4b000000000000000000073657175656e636572")

#: Arbitrum One's L2 block number of sequence number 0 (the Classic blocks come first).
ARBITRUM_ONE_GENESIS_BLOCK = 22207817


@attrs.frozen
class L1IncomingMessageHeader:
    kind: int
    sender: bytes  # 20 bytes ("poster" in Nitro's Go, "sender" in its JSON)
    block_number: int  # the parent chain's block number
    timestamp: int
    request_id: bytes | None = None  # 32 bytes; None for sequencer messages
    base_fee_l1: int | None = None


@attrs.frozen
class L1IncomingMessage:
    header: L1IncomingMessageHeader
    l2_msg: bytes
    # Only on batch-posting reports (kind 13); kept so that a re-encode loses nothing.
    batch_gas_cost: int | None = None
    batch_data_stats: tuple[int, int] | None = None  # (length, nonzeros)


@attrs.frozen
class MessageWithMetadata:
    message: L1IncomingMessage
    delayed_messages_read: int


@attrs.frozen
class BroadcastFeedMessage:
    """One sequenced message: on Nitro, one L2 block."""

    sequence_number: int
    message: MessageWithMetadata
    block_hash: bytes | None = None  # 32 bytes
    block_metadata: bytes | None = None  # Timeboost's express-lane bitmap (Arbitrum One)
    signature: bytes | None = None  # 65 bytes, JSON field ``signatureV2``

    def l2_block_number(self, genesis_block: int = 0) -> int:
        """The L2 block this message produces: ``genesis_block`` + sequence number.

        ``genesis_block`` is :data:`ARBITRUM_ONE_GENESIS_BLOCK` on Arbitrum One and 0 on
        chains that started on Nitro (Orbit chains such as the captured samples').
        """
        return genesis_block + self.sequence_number


@attrs.frozen
class BroadcastMessage:
    """One WebSocket frame: some messages, or a confirmation watermark, or both."""

    version: int
    messages: list[BroadcastFeedMessage] = attrs.field(factory=list)
    confirmed_sequence_number: int | None = None


@attrs.frozen
class L2Segment:
    """A leaf of an ``l2Msg``: one L2 message kind and its body, batches already flattened.

    ``path`` gives the position inside the (possibly nested) batches, e.g. ``(0, 3)`` for the
    fourth sub-message of the first sub-batch; ``()`` for an ``l2Msg`` that is not a batch.
    For a signed transaction (kind 4) ``payload`` is the EIP-2718 envelope.
    """

    kind: int
    payload: bytes
    path: tuple[int, ...] = ()
