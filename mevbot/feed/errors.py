"""The feed package's few exception classes.

Every way the outside world can hand us bad bytes ends in a :class:`FeedDecodeError`
subclass whose message says what was wrong, where (frame, message, segment, field) and what
was expected, so a service loop can catch one type at its boundary, count it and go on.
"""

from __future__ import annotations


class FeedError(Exception):
    """Base class of every feed error."""


class FeedDecodeError(FeedError, ValueError):
    """Bytes from a feed could not be decoded; the base of every decode failure."""


class FrameDecodeError(FeedDecodeError):
    """A frame is not a valid BroadcastMessage JSON document (syntax, shape or field type)."""


class L2MessageDecodeError(FeedDecodeError):
    """An ``l2Msg`` payload is malformed (bad batch framing, too deep, empty)."""


class TransactionDecodeError(FeedDecodeError):
    """A signed transaction envelope is not valid RLP of the shape its type requires."""


class UnsupportedTransactionType(TransactionDecodeError):
    """A recognised envelope type we do not decode (EIP-4844 blobs, Arbitrum's 0x64..0x6a)."""

    def __init__(self, tx_type: int) -> None:
        super().__init__(f"transaction type 0x{tx_type:02x} is recognised but not decoded")
        self.tx_type = tx_type


class SignatureError(FeedDecodeError):
    """A signature (feed ``signatureV2`` or a transaction's v/r/s) cannot be recovered."""


class FeedSignatureRejected(FeedError):
    """A feed message's ``signatureV2`` is missing or not from one of the configured signers."""
