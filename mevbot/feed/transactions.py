"""Signed transaction envelopes from the feed, decoded lazily: pay only for what you read.

:func:`decode_transaction` only looks at the envelope type. The first field access walks the
RLP list as far as calldata, recording where each field begins; after that ``to``,
``selector``, ``value``, ``nonce`` and ``gas`` are slices of the raw bytes. The rest of the
list (access list, signature) is walked only when a signature field is wanted, or by
:meth:`FeedTransaction.validate`. The hash (one keccak), the
checksummed ``to`` (cached per address) and the sender (one secp256k1 recovery with
coincurve) are computed on first use and kept. Nothing is re-encoded: the unsigned payload
that the sender signed is the signed list minus its last three fields (``yParity``/``v``,
``r``, ``s``), so the signing hash takes the bytes in place under a new list header (plus
``chainId, 0, 0`` for EIP-155 legacy transactions).

Decoded: legacy (pre- and post-EIP-155), EIP-2930 (0x01), EIP-1559 (0x02), EIP-7702 (0x04).
Recognised and refused with :class:`UnsupportedTransactionType` so callers can count them:
EIP-4844 (0x03, never valid on Arbitrum) and Arbitrum's internal types 0x64..0x6a.
Anything else raises :class:`TransactionDecodeError`.
"""

from __future__ import annotations

from typing import Any

from coincurve import PublicKey

from mevbot.feed.addresses import checksum_address
from mevbot.feed.errors import SignatureError, TransactionDecodeError, UnsupportedTransactionType
from mevbot.feed.keccak import keccak256

TX_TYPE_LEGACY = 0
TX_TYPE_ACCESS_LIST = 1
TX_TYPE_DYNAMIC_FEE = 2
TX_TYPE_BLOB = 3
TX_TYPE_SET_CODE = 4
#: Arbitrum's own types (go-ethereum fork): deposit, unsigned, contract, retry,
#: submit-retryable, internal, legacy. They appear in blocks, never as signed feed txs.
ARBITRUM_TX_TYPES = range(0x64, 0x6B)
SUPPORTED_TX_TYPES = (TX_TYPE_LEGACY, TX_TYPE_ACCESS_LIST, TX_TYPE_DYNAMIC_FEE, TX_TYPE_SET_CODE)

_UNSET: Any = object()
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

class _Layout:
    """Where a type's fields sit (field indexes; -1 where the type has no such field)."""

    __slots__ = ("fields", "nonce", "gas", "to", "value", "data", "chain_id", "fee", "tip", "v", "r", "s", "list_fields")

    def __init__(self, fields: int, nonce: int, gas: int, to: int, value: int, data: int, chain_id: int,
                 fee: int, tip: int, list_fields: tuple[int, ...]) -> None:
        self.fields = fields
        self.nonce, self.gas, self.to, self.value, self.data = nonce, gas, to, value, data
        self.chain_id, self.fee, self.tip = chain_id, fee, tip
        self.v, self.r, self.s = fields - 3, fields - 2, fields - 1
        self.list_fields = sum(1 << i for i in list_fields)  # the only fields allowed to be lists


# Field order: legacy [nonce, gasPrice, gas, to, value, data, v, r, s]; 2930 [chainId, nonce,
# gasPrice, gas, to, value, data, accessList, yParity, r, s]; 1559 [chainId, nonce, tip, maxFee,
# gas, to, value, data, accessList, yParity, r, s]; 7702 as 1559 plus authorizationList.
_LAYOUT = {
    TX_TYPE_LEGACY: _Layout(9, nonce=0, gas=2, to=3, value=4, data=5, chain_id=-1, fee=1, tip=-1, list_fields=()),
    TX_TYPE_ACCESS_LIST: _Layout(11, nonce=1, gas=3, to=4, value=5, data=6, chain_id=0, fee=2, tip=-1, list_fields=(7,)),
    TX_TYPE_DYNAMIC_FEE: _Layout(12, nonce=1, gas=4, to=5, value=6, data=7, chain_id=0, fee=3, tip=2, list_fields=(8,)),
    TX_TYPE_SET_CODE: _Layout(13, nonce=1, gas=4, to=5, value=6, data=7, chain_id=0, fee=3, tip=2, list_fields=(8, 9)),
}
_LEGACY_LAYOUT = _LAYOUT[TX_TYPE_LEGACY]
_TYPED = {t: _LAYOUT[t] for t in (TX_TYPE_ACCESS_LIST, TX_TYPE_DYNAMIC_FEE, TX_TYPE_SET_CODE)}


def _list_header(length: int) -> bytes:
    if length < 56:
        return bytes((0xC0 + length,))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0xF7 + len(size),)) + size


def _rlp_uint(value: int) -> bytes:
    if value == 0:
        return b"\x80"
    if value < 0x80:
        return bytes((value,))
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes((0x80 + len(data),)) + data


class FeedTransaction:
    """One signed transaction; fields are decoded on first access (see the module docstring).

    ``index`` is its position among the signed transactions of its feed message (set by the
    block decoder; -1 for a transaction decoded on its own). Raises TransactionDecodeError
    (or UnsupportedTransactionType) from the constructor for an unknown envelope type, and
    from the first field access for a malformed RLP body.
    """

    __slots__ = ("raw", "type", "index", "_heads", "_layout", "_hash", "_sender", "_to")

    def __init__(self, raw: bytes, index: int = -1) -> None:
        self.raw = raw
        self.index = index
        self._heads = self._hash = self._sender = None
        self._to = _UNSET  # None is a valid value of `to` (a contract creation)
        first = raw[0] if raw else -1
        if first >= 0xC0:
            self.type = TX_TYPE_LEGACY
            self._layout = _LEGACY_LAYOUT
            return
        layout = _TYPED.get(first)
        if layout is None:
            if first == TX_TYPE_BLOB or first in ARBITRUM_TX_TYPES:
                raise UnsupportedTransactionType(first)
            if first < 0:
                raise TransactionDecodeError("empty transaction envelope")
            raise TransactionDecodeError(f"unknown transaction envelope type 0x{first:02x}")
        self.type = first
        self._layout = layout

    # --- the one RLP walk --------------------------------------------------------------------

    def _scan(self) -> list[int]:
        """Where each field's RLP item begins, up to the end of calldata: ``[h0, ..., h(data+1)]``.

        One append per field: field i's payload ends where field i+1 begins, and its start is
        recomputed from its header byte on access. The cheap fields all come before the
        access list and signature, so this first pass stops after calldata; :meth:`_scan_all`
        walks the rest when a signature field is wanted. Validates the list header and that
        no scalar field is an RLP list, so the accessors need no checks of their own.
        """
        raw = self.raw
        pos = 0 if self.type == TX_TYPE_LEGACY else 1
        end = len(raw)
        if pos >= end:
            raise TransactionDecodeError(f"type 0x{self.type:02x} envelope has no payload")
        b = raw[pos]
        if 0xC0 <= b < 0xF8:
            pos += 1
            list_end = pos + b - 0xC0
        elif b >= 0xF8:
            n = b - 0xF7
            list_end = pos + 1 + n + int.from_bytes(raw[pos + 1 : pos + 1 + n], "big")
            pos += 1 + n
        else:
            raise TransactionDecodeError(f"type {self.type} envelope: expected an RLP list, got byte 0x{b:02x}")
        if list_end != end:
            raise TransactionDecodeError(
                f"type {self.type} envelope: RLP list ends at byte {list_end}, the envelope has {end}"
            )
        heads = []
        append = heads.append
        # Positions only grow, so one check after the loop catches an item running past the
        # end, and reading past the end (IndexError) means the list has too few fields.
        remaining = self._layout.data + 1
        try:
            while remaining:
                remaining -= 1
                append(pos)
                b = raw[pos]
                if b < 0x80:
                    pos += 1
                elif b < 0xB8:
                    pos += b - 0x7F
                elif b < 0xC0:
                    start = pos + b - 0xB6
                    pos = start + int.from_bytes(raw[pos + 1 : start], "big")
                else:
                    raise TransactionDecodeError(
                        f"type {self.type} envelope: field {len(heads) - 1} is an RLP list, expected bytes"
                    )
        except IndexError:
            raise TransactionDecodeError(f"type {self.type} envelope ends after {len(heads) - 1} fields") from None
        if pos > end:
            raise TransactionDecodeError(f"type {self.type} envelope: calldata runs past the end")
        append(pos)
        self._heads = heads
        return heads

    def _scan_all(self) -> list[int]:
        """Every field's head plus the end: ``[h0, h1, ..., hN, end]``; validates the field count."""
        partial = self._heads or self._scan()
        layout = self._layout
        if len(partial) == layout.fields + 1:
            return partial
        raw = self.raw
        end = len(raw)
        heads = partial[:-1]  # a copy: a failed walk leaves the first pass as it was
        pos = partial[-1]
        append = heads.append
        lists = 0
        while pos < end:
            append(pos)
            b = raw[pos]
            if b < 0x80:
                pos += 1
            elif b < 0xB8:
                pos += b - 0x7F
            elif b < 0xC0:
                start = pos + b - 0xB6
                pos = start + int.from_bytes(raw[pos + 1 : start], "big")
            else:
                lists |= 1 << (len(heads) - 1)
                if b < 0xF8:
                    pos += b - 0xBF
                else:
                    start = pos + b - 0xF6
                    pos = start + int.from_bytes(raw[pos + 1 : start], "big")
        append(pos)
        if pos != end:
            raise TransactionDecodeError(f"type {self.type} envelope: field {len(heads) - 2} runs past the end")
        if len(heads) != layout.fields + 1:
            raise TransactionDecodeError(f"type {self.type} envelope has {len(heads) - 1} fields, expected {layout.fields}")
        if lists & ~layout.list_fields:
            raise TransactionDecodeError(f"type {self.type} envelope: a scalar field is an RLP list (fields bitmask {lists:#x})")
        self._heads = heads
        return heads

    def validate(self) -> FeedTransaction:
        """Walk the whole envelope now; TransactionDecodeError if any field is malformed."""
        self._scan_all()
        return self

    def _payload(self, i: int) -> bytes:
        """Field i's payload (for a list field: its items, header stripped)."""
        heads = self._heads or self._scan()
        if i >= len(heads) - 1:
            heads = self._scan_all()
        raw = self.raw
        h = heads[i]
        b = raw[h]
        if b < 0x80:
            return raw[h : h + 1]
        if b < 0xB8 or 0xC0 <= b < 0xF8:
            return raw[h + 1 : heads[i + 1]]
        return raw[h + (b - 0xB6 if b < 0xC0 else b - 0xF6) : heads[i + 1]]

    def _uint(self, i: int) -> int:
        heads = self._heads or self._scan()
        if i >= len(heads) - 1:
            heads = self._scan_all()
        raw = self.raw
        h = heads[i]
        b = raw[h]
        if b < 0x80:
            return b
        if b < 0xB8:
            return int.from_bytes(raw[h + 1 : heads[i + 1]], "big")
        return int.from_bytes(raw[h + b - 0xB6 : heads[i + 1]], "big")

    # --- cheap fields: slices of the raw bytes -----------------------------------------------
    # (nonce, gas and value repeat _uint's body: they are read for every transaction, and a
    # method call is a third of their cost.)

    @property
    def nonce(self) -> int:
        heads = self._heads or self._scan()
        i = self._layout.nonce
        raw = self.raw
        h = heads[i]
        b = raw[h]
        if b < 0x80:
            return b
        if b == 0x80:
            return 0
        return int.from_bytes(raw[h + 1 if b < 0xB8 else h + b - 0xB6 : heads[i + 1]], "big")

    @property
    def gas(self) -> int:
        heads = self._heads or self._scan()
        i = self._layout.gas
        raw = self.raw
        h = heads[i]
        b = raw[h]
        if b < 0x80:
            return b
        if b == 0x80:
            return 0
        return int.from_bytes(raw[h + 1 if b < 0xB8 else h + b - 0xB6 : heads[i + 1]], "big")

    @property
    def value(self) -> int:
        heads = self._heads or self._scan()
        i = self._layout.value
        raw = self.raw
        h = heads[i]
        b = raw[h]
        if b < 0x80:
            return b
        if b == 0x80:
            return 0
        return int.from_bytes(raw[h + 1 if b < 0xB8 else h + b - 0xB6 : heads[i + 1]], "big")

    @property
    def to_bytes(self) -> bytes | None:
        """20-byte recipient, or None for a contract creation."""
        heads = self._heads or self._scan()
        i = self._layout.to
        h = heads[i]
        raw = self.raw
        if raw[h] == 0x94 and heads[i + 1] - h == 21:
            return raw[h + 1 : h + 21]
        to = self._payload(i)
        if not to:
            return None
        raise TransactionDecodeError(f"type {self.type} envelope: 'to' is {len(to)} bytes, expected 20 or 0")

    @property
    def data(self) -> bytes:
        return self._payload(self._layout.data)

    @property
    def selector(self) -> bytes | None:
        """The first 4 bytes of calldata, or None when there are fewer."""
        heads = self._heads or self._scan()
        i = self._layout.data
        h = heads[i]
        raw = self.raw
        b = raw[h]
        if b < 0x84:  # a single byte or a string shorter than 4
            return None
        start = h + 1 if b < 0xB8 else h + b - 0xB6
        return raw[start : start + 4]

    @property
    def chain_id(self) -> int | None:
        """The signed chain id; None for a pre-EIP-155 legacy transaction."""
        i = self._layout.chain_id
        if i >= 0:
            return self._uint(i)
        v = self._uint(self._layout.v)
        return (v - 35) // 2 if v >= 35 else None

    @property
    def gas_price(self) -> int:
        """Legacy/2930 gas price, or the EIP-1559 max fee per gas."""
        return self._uint(self._layout.fee)

    @property
    def max_priority_fee_per_gas(self) -> int | None:
        i = self._layout.tip
        return None if i < 0 else self._uint(i)

    # --- computed on first use, then kept ----------------------------------------------------

    @property
    def hash(self) -> bytes:
        """keccak256 of the signed envelope: the transaction hash."""
        h = self._hash
        if h is None:
            h = self._hash = keccak256(self.raw)
        return h

    @property
    def hash_hex(self) -> str:
        return "0x" + self.hash.hex()

    @property
    def to(self) -> str | None:
        """EIP-55 checksummed recipient, or None for a contract creation."""
        to = self._to
        if to is _UNSET:
            raw_to = self.to_bytes
            to = self._to = None if raw_to is None else checksum_address(raw_to)
        return to

    def signing_hash(self) -> tuple[bytes, int]:
        """(the digest the sender signed, the recovery parity 0/1)."""
        heads = self._scan_all()
        layout = self._layout
        v = self._uint(layout.v)
        # Fields are contiguous: the unsigned ones are the list payload up to v/yParity.
        body = self.raw[heads[0] : heads[layout.v]]
        if self.type == TX_TYPE_LEGACY:
            if v in (27, 28):
                parity = v - 27
            elif v >= 35:
                parity = (v - 35) & 1
                body += _rlp_uint((v - 35) // 2) + b"\x80\x80"
            else:
                raise SignatureError(f"legacy transaction v={v}: expected 27, 28 or >= 35")
            return keccak256(_list_header(len(body)) + body), parity
        if v > 1:
            raise SignatureError(f"type {self.type} transaction yParity={v}: expected 0 or 1")
        return keccak256(bytes((self.type,)) + _list_header(len(body)) + body), v

    @property
    def sender_bytes(self) -> bytes:
        """20-byte sender recovered from the signature (one secp256k1 recovery, then kept)."""
        sender = self._sender
        if sender is None:
            digest, parity = self.signing_hash()
            r = self._uint(self._layout.r)
            s = self._uint(self._layout.s)
            if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2):
                raise SignatureError(f"transaction {self.hash_hex}: r/s out of range (s must be in the lower half)")
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((parity,))
            try:
                public = PublicKey.from_signature_and_message(signature, digest, hasher=None)
            except Exception as exc:  # coincurve raises plain Exception for invalid points
                raise SignatureError(f"transaction {self.hash_hex}: signature does not recover ({exc})") from None
            sender = self._sender = keccak256(public.format(compressed=False)[1:])[12:]
        return sender

    @property
    def sender(self) -> str:
        """EIP-55 checksummed sender (see sender_bytes)."""
        return checksum_address(self.sender_bytes)

    def __repr__(self) -> str:
        return f"<FeedTransaction type={self.type} index={self.index} {len(self.raw)} bytes>"


#: A lazily decoded transaction over ``raw`` (an EIP-2718 envelope or legacy RLP bytes).
decode_transaction = FeedTransaction
