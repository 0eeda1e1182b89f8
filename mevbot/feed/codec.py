"""Nitro broadcaster frames <-> typed messages, and the ``l2Msg`` batch framing. Pure, no I/O.

A frame is one WebSocket text message: a ``BroadcastMessage`` JSON document as Nitro's
``broadcaster/message`` package writes it with Go's encoding/json::

    {"version":1,
     "messages":[{"sequenceNumber":N,
                  "message":{"message":{"header":{"kind":3,"sender":"0x..","blockNumber":..,
                                                  "timestamp":..,"requestId":null,"baseFeeL1":0},
                                        "l2Msg":"<base64>"},
                             "delayedMessagesRead":..},
                  "blockHash":"0x..",            (omitted when nil)
                  "signatureV2":"<base64>",      (null when nil)
                  "blockMetadata":"<base64>"}],  (omitted when empty)
     "confirmedSequenceNumberMessage":{"sequenceNumber":N}}   (omitted when nil)

:func:`encode_broadcast` writes exactly that layout, so re-encoding a captured frame gives
back its bytes. Decoding is hand-written over ``json.loads`` rather than a cattrs structure
hook: it runs on every frame of a live feed, and it turns every shape or type problem into a
:class:`FrameDecodeError` naming the JSON path.

``l2Msg`` starts with an L2 message kind (Nitro's arbos/parse_l2.go): 3 is a batch of
sub-messages, each an 8-byte big-endian length then that many bytes, recursively (at most 16
deep); 4 is a signed transaction (an EIP-2718 envelope); 0, 1, 2, 6 and 7 are recognised
other kinds. :func:`split_l2_batch` flattens it into :class:`L2Segment` leaves.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from mevbot.feed.errors import FrameDecodeError, L2MessageDecodeError
from mevbot.feed.messages import (
    BroadcastFeedMessage,
    BroadcastMessage,
    L1IncomingMessage,
    L1IncomingMessageHeader,
    L2Segment,
    MessageWithMetadata,
)
from mevbot.feed.signature import (
    feed_signature_digest,
    feed_signature_preimage,
    recover_feed_signer,
    recover_feed_signer_bytes,
    sign_feed_message,
)

__all__ = [
    "BroadcastFeedMessage",
    "BroadcastMessage",
    "L1IncomingMessage",
    "L1IncomingMessageHeader",
    "L2Segment",
    "MessageWithMetadata",
    "L2_MESSAGE_KINDS",
    "decode_broadcast",
    "encode_broadcast",
    "broadcast_to_json",
    "broadcast_from_json",
    "feed_message_from_json",
    "split_l2_batch",
    "encode_l2_batch",
    "feed_signature_digest",
    "feed_signature_preimage",
    "sign_feed_message",
    "recover_feed_signer",
    "recover_feed_signer_bytes",
]

L2_KIND_UNSIGNED_USER_TX = 0
L2_KIND_CONTRACT_TX = 1
L2_KIND_NONMUTATING_CALL = 2
L2_KIND_BATCH = 3
L2_KIND_SIGNED_TX = 4
L2_KIND_HEARTBEAT = 6
L2_KIND_SIGNED_COMPRESSED_TX = 7

#: ``L2MessageKind_*`` in arbos/parse_l2.go (5 and 8 are reserved).
L2_MESSAGE_KINDS = {
    L2_KIND_UNSIGNED_USER_TX: "unsigned_user_tx",
    L2_KIND_CONTRACT_TX: "contract_tx",
    L2_KIND_NONMUTATING_CALL: "nonmutating_call",
    L2_KIND_BATCH: "batch",
    L2_KIND_SIGNED_TX: "signed_tx",
    L2_KIND_HEARTBEAT: "heartbeat",
    L2_KIND_SIGNED_COMPRESSED_TX: "signed_compressed_tx",
}

MAX_L2_MESSAGE_SIZE = 256 * 1024  # arbostypes.MaxL2MessageSize
MAX_BATCH_DEPTH = 16
_U64 = 1 << 64


# --- decoding -------------------------------------------------------------------------------


def _uint(obj: dict, key: str, where: str, limit: int = _U64) -> int:
    value = obj.get(key)
    if type(value) is not int or not 0 <= value < limit:
        raise FrameDecodeError(f"{where}.{key}: expected an unsigned integer below {limit}, got {value!r:.80}")
    return value


def _dict(obj: dict, key: str, where: str) -> dict:
    value = obj.get(key)
    if type(value) is not dict:
        raise FrameDecodeError(f"{where}.{key}: expected an object, got {type(value).__name__}")
    return value


def _b64(value: Any, where: str) -> bytes | None:
    if value is None:
        return None
    if type(value) is not str:
        raise FrameDecodeError(f"{where}: expected a base64 string or null, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FrameDecodeError(f"{where}: not valid base64 ({exc})") from None


def _hex(value: Any, where: str, size: int) -> bytes:
    if type(value) is not str or len(value) != 2 + 2 * size or value[:2] not in ("0x", "0X"):
        raise FrameDecodeError(f"{where}: expected 0x and {2 * size} hex digits, got {value!r:.80}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise FrameDecodeError(f"{where}: not hexadecimal: {value!r:.80}") from None


def _decode_header(obj: dict, where: str) -> L1IncomingMessageHeader:
    request_id = obj.get("requestId")
    base_fee = obj.get("baseFeeL1")
    if base_fee is not None and (type(base_fee) is not int or base_fee < 0):
        raise FrameDecodeError(f"{where}.baseFeeL1: expected a non-negative integer or null, got {base_fee!r:.80}")
    return L1IncomingMessageHeader(
        kind=_uint(obj, "kind", where, 256),
        sender=_hex(obj.get("sender"), where + ".sender", 20),
        block_number=_uint(obj, "blockNumber", where),
        timestamp=_uint(obj, "timestamp", where),
        request_id=None if request_id is None else _hex(request_id, where + ".requestId", 32),
        base_fee_l1=base_fee,
    )


def _decode_feed_message(obj: Any, where: str) -> BroadcastFeedMessage:
    if type(obj) is not dict:
        raise FrameDecodeError(f"{where}: expected an object, got {type(obj).__name__}")
    sequence_number = _uint(obj, "sequenceNumber", where)
    where = f"{where}[seq {sequence_number}]"
    meta = _dict(obj, "message", where)
    incoming = _dict(meta, "message", where + ".message")
    header = _decode_header(_dict(incoming, "header", where + ".message.message"), where + ".message.message.header")
    l2_msg = _b64(incoming.get("l2Msg"), where + ".message.message.l2Msg") or b""
    batch_gas_cost = incoming.get("batchGasCost")
    if batch_gas_cost is not None:
        batch_gas_cost = _uint(incoming, "batchGasCost", where + ".message.message")
    stats = incoming.get("batchDataTokens")
    if stats is not None:
        if type(stats) is not dict:
            raise FrameDecodeError(f"{where}.message.message.batchDataTokens: expected an object")
        stats = (_uint(stats, "length", where + ".batchDataTokens"), _uint(stats, "nonzeros", where + ".batchDataTokens"))
    block_hash = obj.get("blockHash")
    return BroadcastFeedMessage(
        sequence_number=sequence_number,
        message=MessageWithMetadata(
            message=L1IncomingMessage(header=header, l2_msg=l2_msg, batch_gas_cost=batch_gas_cost, batch_data_stats=stats),
            delayed_messages_read=_uint(meta, "delayedMessagesRead", where + ".message"),
        ),
        block_hash=None if block_hash is None else _hex(block_hash, where + ".blockHash", 32),
        block_metadata=_b64(obj.get("blockMetadata"), where + ".blockMetadata"),
        signature=_b64(obj.get("signatureV2"), where + ".signatureV2"),
    )


def decode_broadcast(data: bytes | str) -> BroadcastMessage:
    """One frame's JSON into a :class:`BroadcastMessage`; FrameDecodeError if it is not one.

    Unknown fields are ignored, as Go's encoding/json does, so newer servers stay readable.
    """
    try:
        doc = json.loads(data)
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise FrameDecodeError(f"frame is not JSON: {exc}") from None
    except RecursionError:
        raise FrameDecodeError("frame is not JSON: nested too deeply") from None
    return broadcast_from_json(doc)


def feed_message_from_json(doc: Any) -> BroadcastFeedMessage:
    """One bare ``BroadcastFeedMessage`` JSON value (an element of a frame's ``messages``)."""
    return _decode_feed_message(doc, "message")


def broadcast_from_json(doc: Any) -> BroadcastMessage:
    """A :class:`BroadcastMessage` from an already parsed JSON value (see decode_broadcast)."""
    if type(doc) is not dict:
        raise FrameDecodeError(f"frame: expected a JSON object, got {type(doc).__name__}")
    version = doc.get("version")
    if type(version) is not int:
        raise FrameDecodeError(f"frame.version: expected an integer, got {version!r:.80}")
    raw_messages = doc.get("messages")
    if raw_messages is None:
        messages = []
    elif type(raw_messages) is list:
        messages = [_decode_feed_message(m, f"frame.messages[{i}]") for i, m in enumerate(raw_messages)]
    else:
        raise FrameDecodeError(f"frame.messages: expected a list or null, got {type(raw_messages).__name__}")
    confirmed = doc.get("confirmedSequenceNumberMessage")
    if confirmed is not None:
        if type(confirmed) is not dict:
            raise FrameDecodeError("frame.confirmedSequenceNumberMessage: expected an object")
        confirmed = _uint(confirmed, "sequenceNumber", "frame.confirmedSequenceNumberMessage")
    return BroadcastMessage(version=version, messages=messages, confirmed_sequence_number=confirmed)


# --- encoding -------------------------------------------------------------------------------


def _b64_text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _feed_message_to_json(msg: BroadcastFeedMessage) -> dict:
    incoming = msg.message.message
    header = incoming.header
    l1: dict[str, Any] = {
        "header": {
            "kind": header.kind,
            "sender": "0x" + header.sender.hex(),
            "blockNumber": header.block_number,
            "timestamp": header.timestamp,
            "requestId": None if header.request_id is None else "0x" + header.request_id.hex(),
            "baseFeeL1": header.base_fee_l1,
        },
        "l2Msg": _b64_text(incoming.l2_msg),
    }
    if incoming.batch_gas_cost is not None:
        l1["batchGasCost"] = incoming.batch_gas_cost
    if incoming.batch_data_stats is not None:
        length, nonzeros = incoming.batch_data_stats
        l1["batchDataTokens"] = {"length": length, "nonzeros": nonzeros}
    out: dict[str, Any] = {
        "sequenceNumber": msg.sequence_number,
        "message": {"message": l1, "delayedMessagesRead": msg.message.delayed_messages_read},
    }
    if msg.block_hash is not None:
        out["blockHash"] = "0x" + msg.block_hash.hex()
    out["signatureV2"] = None if msg.signature is None else _b64_text(msg.signature)
    if msg.block_metadata:
        out["blockMetadata"] = _b64_text(msg.block_metadata)
    return out


def broadcast_to_json(msg: BroadcastMessage) -> dict:
    """The JSON value of a frame, keys in Nitro's order and with its omitempty rules."""
    out: dict[str, Any] = {"version": msg.version}
    if msg.messages:
        out["messages"] = [_feed_message_to_json(m) for m in msg.messages]
    if msg.confirmed_sequence_number is not None:
        out["confirmedSequenceNumberMessage"] = {"sequenceNumber": msg.confirmed_sequence_number}
    return out


def encode_broadcast(msg: BroadcastMessage) -> bytes:
    """A frame's bytes, as Nitro's Go encoding/json writes them (compact, UTF-8)."""
    return json.dumps(broadcast_to_json(msg), separators=(",", ":")).encode()


# --- l2Msg framing --------------------------------------------------------------------------


def split_l2_batch(l2_msg: bytes) -> list[L2Segment]:
    """Flatten an ``l2Msg`` into its leaf segments, in order (see the module docstring).

    A batch ends where Nitro's reader stops: at the end of the bytes, or at a length prefix
    that is short, larger than 256 KiB or longer than what is left (Nitro drops such a tail
    silently, so the block does not contain it either). An empty message or sub-message, an
    unknown kind or a nesting deeper than 16 raises L2MessageDecodeError.
    """
    segments: list[L2Segment] = []
    _split_into(l2_msg, (), 0, segments)
    return segments


def _split_into(data: bytes, path: tuple[int, ...], depth: int, out: list[L2Segment]) -> None:
    if not data:
        raise L2MessageDecodeError(f"l2Msg segment {list(path)} is empty; expected a kind byte")
    kind = data[0]
    if kind == L2_KIND_BATCH:
        if depth >= MAX_BATCH_DEPTH:
            raise L2MessageDecodeError(f"l2Msg segment {list(path)}: batches nest at most {MAX_BATCH_DEPTH} deep")
        pos = 1
        end = len(data)
        index = 0
        while pos + 8 <= end:
            size = int.from_bytes(data[pos : pos + 8], "big")
            start = pos + 8
            if size > MAX_L2_MESSAGE_SIZE or start + size > end:
                break
            pos = start + size
            sub = data[start:pos]
            sub_path = path + (index,)
            if sub and sub[0] == L2_KIND_SIGNED_TX:  # the common case, without a recursion
                out.append(L2Segment(L2_KIND_SIGNED_TX, sub[1:], sub_path))
            else:
                _split_into(sub, sub_path, depth + 1, out)
            index += 1
        return
    if kind not in L2_MESSAGE_KINDS:
        raise L2MessageDecodeError(f"l2Msg segment {list(path)}: unknown L2 message kind {kind}")
    out.append(L2Segment(kind, data[1:], path))


def encode_l2_batch(raw_txs: list[bytes]) -> bytes:
    """A kind-3 batch of kind-4 signed transactions (the sequencer's usual ``l2Msg``)."""
    parts = [bytes((L2_KIND_BATCH,))]
    for raw in raw_txs:
        parts.append((len(raw) + 1).to_bytes(8, "big"))
        parts.append(bytes((L2_KIND_SIGNED_TX,)))
        parts.append(raw)
    return b"".join(parts)
