"""The feed's ``signatureV2``: what the sequencer signs, and who signed a message.

The preimage is Nitro's ``BroadcastFeedMessage.SignatureHash`` (broadcaster/message):

    keccak256("Arbitrum Nitro Feed:" || chainId (8 bytes BE) || sequenceNumber (8)
              || blockHash (32, only if present) || blockMetadata (raw, may be empty)
              || delayedMessagesRead (8) || kind (1) || sender (20) || blockNumber (8)
              || timestamp (8) || requestId (32, only if not null)
              || baseFeeL1 (only if not null, *minimal* big-endian: Go's big.Int.Bytes())
              || l2Msg)

Two details cost an afternoon if missed: null ``requestId``/``baseFeeL1`` add no bytes at
all (not zeros), and a zero ``baseFeeL1`` also adds no bytes (``big.Int.Bytes()`` of 0 is
empty). A wrong preimage does not fail: it recovers a different, plausible address; the tests
therefore also check that a wrong chain id does not recover the expected signer.

The signature is 65 bytes ``r || s || v`` over that digest with no EIP-191 prefix, ``v`` in
{0, 1} (27/28 are accepted too).
"""

from __future__ import annotations

from coincurve import PrivateKey, PublicKey

from mevbot.feed.addresses import checksum_address
from mevbot.feed.errors import SignatureError
from mevbot.feed.keccak import keccak256
from mevbot.feed.messages import BroadcastFeedMessage

FEED_SIGNATURE_PREFIX = b"Arbitrum Nitro Feed:"


def _minimal_big_endian(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def feed_signature_preimage(msg: BroadcastFeedMessage, chain_id: int) -> bytes:
    """The exact bytes the sequencer hashes before signing (see the module docstring)."""
    meta = msg.message
    incoming = meta.message
    header = incoming.header
    parts = [
        FEED_SIGNATURE_PREFIX,
        chain_id.to_bytes(8, "big"),
        msg.sequence_number.to_bytes(8, "big"),
        msg.block_hash or b"",
        msg.block_metadata or b"",
        meta.delayed_messages_read.to_bytes(8, "big"),
        bytes((header.kind,)),
        header.sender,
        header.block_number.to_bytes(8, "big"),
        header.timestamp.to_bytes(8, "big"),
        header.request_id if header.request_id is not None else b"",
        _minimal_big_endian(header.base_fee_l1) if header.base_fee_l1 is not None else b"",
        incoming.l2_msg,
    ]
    return b"".join(parts)


def feed_signature_digest(msg: BroadcastFeedMessage, chain_id: int) -> bytes:
    """The 32-byte digest that ``signatureV2`` signs."""
    try:
        return keccak256(feed_signature_preimage(msg, chain_id))
    except OverflowError as exc:  # a number that does not fit its 8-byte slot
        raise SignatureError(
            f"message {msg.sequence_number}: a field does not fit the signed layout ({exc})"
        ) from None


def sign_feed_message(msg: BroadcastFeedMessage, chain_id: int, private_key: bytes | str) -> BroadcastFeedMessage:
    """A copy of ``msg`` carrying a ``signatureV2`` by ``private_key`` (32 bytes or hex)."""
    import attrs

    if isinstance(private_key, str):
        private_key = bytes.fromhex(private_key.removeprefix("0x"))
    signature = PrivateKey(private_key).sign_recoverable(feed_signature_digest(msg, chain_id), hasher=None)
    return attrs.evolve(msg, signature=signature)


def recover_feed_signer_bytes(msg: BroadcastFeedMessage, chain_id: int) -> bytes:
    """The 20-byte address that produced ``msg.signature``; SignatureError if none can be."""
    signature = msg.signature
    if not signature:
        raise SignatureError(f"message {msg.sequence_number} carries no signatureV2")
    if len(signature) != 65:
        raise SignatureError(
            f"message {msg.sequence_number}: signatureV2 is {len(signature)} bytes, expected 65"
        )
    v = signature[64]
    if v in (27, 28):
        signature = signature[:64] + bytes((v - 27,))
    elif v > 1:
        raise SignatureError(f"message {msg.sequence_number}: signatureV2 v={v}, expected 0, 1, 27 or 28")
    try:
        public = PublicKey.from_signature_and_message(signature, feed_signature_digest(msg, chain_id), hasher=None)
    except Exception as exc:  # coincurve raises plain Exception/ValueError for bad points
        raise SignatureError(f"message {msg.sequence_number}: signatureV2 does not recover ({exc})") from None
    return keccak256(public.format(compressed=False)[1:])[12:]


def recover_feed_signer(msg: BroadcastFeedMessage, chain_id: int) -> str:
    """The checksummed address that signed ``msg``; SignatureError if it cannot be recovered."""
    return checksum_address(recover_feed_signer_bytes(msg, chain_id))
