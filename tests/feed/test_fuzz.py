"""Random and mutated input never crashes a feed decoder: only FeedDecodeError-family errors."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mevbot.feed.blocks import decode_block
from mevbot.feed.codec import (
    BroadcastFeedMessage,
    BroadcastMessage,
    L1IncomingMessage,
    L1IncomingMessageHeader,
    MessageWithMetadata,
    decode_broadcast,
    encode_broadcast,
    split_l2_batch,
)
from mevbot.feed.errors import FeedDecodeError
from mevbot.feed.signature import recover_feed_signer_bytes
from mevbot.feed.transactions import decode_transaction

from .conftest import FRAMES_PATH

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FRAMES = [line for line in FRAMES_PATH.read_bytes().splitlines() if line.strip()]
MESSAGES = [m for line in FRAMES for m in decode_broadcast(line).messages]
L2_MSGS = [m.message.message.l2_msg for m in MESSAGES]
RAW_TXS = [s.payload for l2 in L2_MSGS for s in split_l2_batch(l2)]


@st.composite
def mutated(draw, corpus: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if action == "flip":
            data[pos] ^= draw(st.integers(1, 255))
        elif action == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif action == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[pos:]
    return bytes(data)


def _read_everything(tx) -> None:
    tx.nonce, tx.gas, tx.value, tx.to_bytes, tx.selector, tx.data, tx.chain_id
    tx.gas_price, tx.max_priority_fee_per_gas, tx.hash, tx.to
    tx.validate()
    tx.sender


def _decode_transaction_fully(raw: bytes) -> None:
    try:
        _read_everything(decode_transaction(raw))
    except FeedDecodeError:
        pass


@FUZZ
@given(st.binary(max_size=2000) | mutated(FRAMES))
def test_random_and_mutated_frame_bytes_raise_only_feed_decode_errors(data):
    try:
        frame = decode_broadcast(data)
    except FeedDecodeError:
        return
    for msg in frame.messages:
        decode_block(msg, chain_id=4663)
        try:
            recover_feed_signer_bytes(msg, 4663)
        except FeedDecodeError:
            pass


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


@st.composite
def frames_with_a_field_replaced(draw) -> str:
    doc = json.loads(draw(st.sampled_from(FRAMES[:3])))
    node = doc
    path = ["messages", 0, "message", "message", "header"]
    depth = draw(st.integers(0, len(path)))
    for key in path[:depth]:
        node = node[key]
    key = draw(st.sampled_from(sorted(node)) if isinstance(node, dict) else st.just(0))
    node[key] = draw(JSON_VALUES)
    return json.dumps(doc)


@FUZZ
@given(frames_with_a_field_replaced())
def test_frames_with_a_field_of_the_wrong_shape_raise_only_feed_decode_errors(text):
    try:
        for msg in decode_broadcast(text).messages:
            decode_block(msg)
    except FeedDecodeError:
        pass


@FUZZ
@given(st.binary(max_size=600) | mutated(L2_MSGS))
def test_random_and_mutated_l2msg_bytes_raise_only_feed_decode_errors(l2_msg):
    try:
        segments = split_l2_batch(l2_msg)
    except FeedDecodeError:
        return
    for segment in segments:
        _decode_transaction_fully(segment.payload)


@FUZZ
@given(st.binary(max_size=400) | mutated(RAW_TXS))
def test_random_and_mutated_transactions_raise_only_feed_decode_errors(raw):
    _decode_transaction_fully(raw)


messages = st.builds(
    BroadcastFeedMessage,
    sequence_number=st.integers(0, 2**64 - 1),
    message=st.builds(
        MessageWithMetadata,
        message=st.builds(
            L1IncomingMessage,
            header=st.builds(
                L1IncomingMessageHeader,
                kind=st.integers(0, 255),
                sender=st.binary(min_size=20, max_size=20),
                block_number=st.integers(0, 2**64 - 1),
                timestamp=st.integers(0, 2**64 - 1),
                request_id=st.none() | st.binary(min_size=32, max_size=32),
                base_fee_l1=st.none() | st.integers(0, 2**256),
            ),
            l2_msg=st.binary(max_size=64),
            batch_gas_cost=st.none() | st.integers(0, 2**64 - 1),
            batch_data_stats=st.none() | st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1)),
        ),
        delayed_messages_read=st.integers(0, 2**64 - 1),
    ),
    block_hash=st.none() | st.binary(min_size=32, max_size=32),
    block_metadata=st.none() | st.binary(min_size=1, max_size=8),
    signature=st.none() | st.binary(max_size=65),
)


@FUZZ
@given(st.builds(BroadcastMessage, version=st.integers(0, 3), messages=st.lists(messages, max_size=3),
                 confirmed_sequence_number=st.none() | st.integers(0, 2**64 - 1)))
def test_encoding_then_decoding_gives_back_the_same_frame(frame):
    assert decode_broadcast(encode_broadcast(frame)) == frame
