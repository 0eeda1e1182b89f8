"""The broadcaster codec against real captured frames and Nitro's own test vectors."""

from __future__ import annotations

import base64
import json

import attrs
import pytest
from coincurve import PrivateKey
from eth_account import Account

from mevbot.feed.codec import (
    BroadcastFeedMessage,
    BroadcastMessage,
    L1IncomingMessage,
    L1IncomingMessageHeader,
    MessageWithMetadata,
    decode_broadcast,
    encode_broadcast,
    encode_l2_batch,
    feed_message_from_json,
    feed_signature_digest,
    recover_feed_signer,
    sign_feed_message,
    split_l2_batch,
)
from mevbot.feed.errors import FeedDecodeError, FrameDecodeError, L2MessageDecodeError, SignatureError

from .conftest import SAMPLE_CHAIN_ID, SAMPLE_SIGNER


def test_reencoding_a_real_frame_gives_back_its_exact_bytes(frame_lines):
    for line in frame_lines:
        assert encode_broadcast(decode_broadcast(line)) == line


def test_reencoding_keeps_each_l2msg_byte_for_byte(frame_lines):
    for line in frame_lines:
        raw = json.loads(line)
        again = json.loads(encode_broadcast(decode_broadcast(line.decode())))
        for before, after in zip(raw.get("messages", []), again.get("messages", []), strict=True):
            assert base64.b64decode(after["message"]["message"]["l2Msg"]) == base64.b64decode(
                before["message"]["message"]["l2Msg"]
            )


def test_frames_decode_into_nitro_fields(frame_lines):
    first = decode_broadcast(frame_lines[0])
    assert first.version == 1 and first.confirmed_sequence_number is None
    (msg,) = first.messages
    assert msg.sequence_number == 20543495
    header = msg.message.message.header
    assert (header.kind, header.block_number, header.timestamp) == (3, 25622572, 1785136372)
    assert header.sender.hex() == "a4b000000000000000000073657175656e636572"
    assert header.request_id is None and header.base_fee_l1 == 0
    assert msg.message.delayed_messages_read > 0
    assert len(msg.block_hash) == 32 and len(msg.signature) == 65 and msg.block_metadata is None


def test_confirmation_only_frame_has_no_messages(frame_lines):
    confirmations = [decode_broadcast(line) for line in frame_lines if b"confirmedSequenceNumberMessage" in line]
    assert [(c.messages, c.confirmed_sequence_number) for c in confirmations] == [([], 20542448)]


def test_split_l2_batch_finds_every_signed_transaction_of_the_capture(frame_lines, verified_message_json, expected_txs):
    count = 0
    for line in frame_lines:
        for msg in decode_broadcast(line).messages:
            segments = split_l2_batch(msg.message.message.l2_msg)
            assert [s.kind for s in segments] == [4] * len(segments)
            count += len(segments)
    count += len(split_l2_batch(feed_message_from_json(verified_message_json).message.message.l2_msg))
    assert count == len(expected_txs)


def test_nested_batches_are_flattened_in_order_with_their_path():
    inner = encode_l2_batch([b"\x02b", b"\x02c"])
    outer = b"\x03" + (3).to_bytes(8, "big") + b"\x04\x02a" + len(inner).to_bytes(8, "big") + inner
    outer += (2).to_bytes(8, "big") + b"\x06x"  # a heartbeat: recognised, not a transaction
    segments = split_l2_batch(outer)
    assert [(s.kind, s.payload, s.path) for s in segments] == [
        (4, b"\x02a", (0,)),
        (4, b"\x02b", (1, 0)),
        (4, b"\x02c", (1, 1)),
        (6, b"x", (2,)),
    ]


def test_a_truncated_batch_tail_is_dropped_like_nitro_does():
    batch = encode_l2_batch([b"\x02a"]) + (50).to_bytes(8, "big") + b"\x04short"
    assert [s.payload for s in split_l2_batch(batch)] == [b"\x02a"]


def _nested(depth: int) -> bytes:
    data = b"\x04\x02x"
    for _ in range(depth):
        data = b"\x03" + len(data).to_bytes(8, "big") + data
    return data


@pytest.mark.parametrize(
    ("l2_msg", "problem"),
    [(b"", "empty"), (b"\x05abc", "unknown L2 message kind 5"), (_nested(17), "nest at most 16")],
)
def test_malformed_l2msg_raises_a_typed_error(l2_msg, problem):
    with pytest.raises(L2MessageDecodeError, match=problem):
        split_l2_batch(l2_msg)


def test_a_deep_but_legal_nesting_is_accepted():
    assert [s.path for s in split_l2_batch(_nested(16))] == [(0,) * 16]


@pytest.mark.parametrize(
    ("frame", "where"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"version":"1"}', "frame.version"),
        (b'{"version":1,"messages":{}}', "frame.messages"),
        (b'{"version":1,"messages":[{"sequenceNumber":-1}]}', r"messages\[0\].sequenceNumber"),
        (b'{"version":1,"messages":[{"sequenceNumber":5,"message":{}}]}', r"\[seq 5\].message.message"),
        (b'{"version":1,"confirmedSequenceNumberMessage":{"sequenceNumber":"x"}}', "confirmedSequenceNumberMessage"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_malformed_frames_raise_frame_decode_error_naming_the_field(frame, where):
    with pytest.raises(FrameDecodeError, match=where):
        decode_broadcast(frame)


def test_a_bad_base64_payload_is_named(frame_lines):
    doc = json.loads(frame_lines[0])
    doc["messages"][0]["message"]["message"]["l2Msg"] = "!!!"
    with pytest.raises(FeedDecodeError, match="l2Msg: not valid base64"):
        decode_broadcast(json.dumps(doc))


def test_signature_v2_of_every_real_message_recovers_the_sequencer(frame_lines, verified_message_json):
    messages = [m for line in frame_lines for m in decode_broadcast(line).messages]
    messages.append(feed_message_from_json(verified_message_json))
    assert {recover_feed_signer(m, SAMPLE_CHAIN_ID) for m in messages} == {SAMPLE_SIGNER}


def test_a_wrong_chain_id_or_a_tampered_message_does_not_recover_the_sequencer(frame_lines):
    msg = decode_broadcast(frame_lines[0]).messages[0]
    assert recover_feed_signer(msg, 42161) != SAMPLE_SIGNER
    incoming = msg.message.message
    tampered = attrs.evolve(msg, message=attrs.evolve(msg.message, message=attrs.evolve(incoming, l2_msg=incoming.l2_msg + b"\x00")))
    assert recover_feed_signer(tampered, SAMPLE_CHAIN_ID) != SAMPLE_SIGNER


def test_signature_digest_matches_nitros_hard_coded_vector():
    # broadcaster/message/message_signature_test.go: TestBroadcastFeedMessageSignature
    msg = BroadcastFeedMessage(
        sequence_number=12345,
        message=MessageWithMetadata(
            message=L1IncomingMessage(
                header=L1IncomingMessageHeader(kind=0, sender=bytes(20), block_number=0, timestamp=0, request_id=bytes(32), base_fee_l1=0),
                l2_msg=bytes.fromhex("deadbeef"),
            ),
            delayed_messages_read=3333,
        ),
        block_metadata=bytes.fromhex("deadbeaf"),
    )
    assert feed_signature_digest(msg, 0xA4B1).hex() == "3d79853de5f9e4354e5d6c6d4cad19dcd969f9646f0cab21e5bdfee4902dfa2e"


def test_signing_then_recovering_gives_the_signing_key_address(frame_lines):
    key = PrivateKey(bytes(range(1, 33)))
    msg = attrs.evolve(decode_broadcast(frame_lines[0]).messages[0], signature=None)
    signed = sign_feed_message(msg, 412346, key.secret)
    assert recover_feed_signer(signed, 412346) == Account.from_key(key.secret).address
    assert decode_broadcast(encode_broadcast(BroadcastMessage(1, [signed]))).messages[0] == signed


def test_missing_or_malformed_signature_raises_signature_error(frame_lines):
    msg = decode_broadcast(frame_lines[0]).messages[0]
    for bad in (None, b"\x01" * 64, b"\x01" * 64 + b"\x07"):
        with pytest.raises(SignatureError):
            recover_feed_signer(attrs.evolve(msg, signature=bad), SAMPLE_CHAIN_ID)


def test_optional_fields_follow_nitros_omitempty_rules():
    header = L1IncomingMessageHeader(kind=13, sender=bytes(20), block_number=1, timestamp=2, request_id=b"\x11" * 32, base_fee_l1=10**30)
    msg = BroadcastFeedMessage(
        sequence_number=7,
        message=MessageWithMetadata(L1IncomingMessage(header, b"\x01", batch_gas_cost=9, batch_data_stats=(3, 2)), 4),
        block_metadata=b"\x00\x01",
    )
    frame = BroadcastMessage(1, [msg], confirmed_sequence_number=6)
    doc = json.loads(encode_broadcast(frame))
    entry = doc["messages"][0]
    assert "blockHash" not in entry and entry["signatureV2"] is None and entry["blockMetadata"] == "AAE="
    assert entry["message"]["message"]["batchDataTokens"] == {"length": 3, "nonzeros": 2}
    assert decode_broadcast(encode_broadcast(frame)) == frame
