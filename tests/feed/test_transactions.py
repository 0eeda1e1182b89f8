"""Typed transactions from the feed: real captured ones against eth-account/eth-utils/rlp,
and every envelope type signed here by eth-account."""

from __future__ import annotations

import os

import pytest
import rlp
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from mevbot.feed.blocks import decode_block
from mevbot.feed.codec import (
    BroadcastFeedMessage,
    L1IncomingMessage,
    L1IncomingMessageHeader,
    MessageWithMetadata,
    decode_broadcast,
    encode_l2_batch,
    feed_message_from_json,
)
from mevbot.feed.errors import FeedDecodeError, TransactionDecodeError, UnsupportedTransactionType
from mevbot.feed.keccak import _public_keccak256, keccak256
from mevbot.feed.transactions import decode_transaction

from .conftest import SAMPLE_CHAIN_ID

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
SENDER = Account.from_key(KEY).address
ROUTER = to_checksum_address("0x1f98431c8ad98523631ae4a59f01d1f4f5b2ba31")


def _real_blocks(frame_lines, verified_message_json):
    messages = [m for line in frame_lines for m in decode_broadcast(line).messages]
    messages.append(feed_message_from_json(verified_message_json))
    return [decode_block(m, chain_id=SAMPLE_CHAIN_ID) for m in messages]


def test_every_expected_hash_is_reproduced_with_its_seq_index_and_type(frame_lines, verified_message_json, expected_txs):
    got = [
        {"seq": b.sequence_number, "index": tx.index, "type": tx.type, "hash": tx.hash_hex}
        for b in _real_blocks(frame_lines, verified_message_json)
        for tx in b.transactions
    ]
    key = lambda r: (r["seq"], r["index"])  # noqa: E731
    assert sorted(got, key=key) == sorted(expected_txs, key=key)


def test_real_transactions_match_eth_account_eth_utils_and_rlp(frame_lines, verified_message_json):
    checked = 0
    for block in _real_blocks(frame_lines, verified_message_json):
        assert block.problems == () and block.skipped_types == 0
        for tx in block.transactions:
            raw = tx.raw
            fields = rlp.decode(raw[1:] if tx.type else raw)
            nonce_i, gas_i, to_i, value_i, data_i = {0: (0, 2, 3, 4, 5), 1: (1, 3, 4, 5, 6), 2: (1, 4, 5, 6, 7), 4: (1, 4, 5, 6, 7)}[tx.type]
            assert tx.nonce == int.from_bytes(fields[nonce_i], "big")
            assert tx.gas == int.from_bytes(fields[gas_i], "big")
            assert tx.value == int.from_bytes(fields[value_i], "big")
            assert tx.to_bytes == (fields[to_i] or None)
            assert tx.data == fields[data_i]
            assert tx.selector == (fields[data_i][:4] if len(fields[data_i]) >= 4 else None)
            assert tx.hash == keccak(raw)
            assert tx.to == (to_checksum_address(fields[to_i]) if fields[to_i] else None)
            assert tx.sender == Account.recover_transaction(raw)
            assert tx.chain_id == SAMPLE_CHAIN_ID
            checked += 1
    assert checked == 145


def test_fast_keccak_matches_eth_hash_on_many_lengths():
    for n in list(range(0, 300)) + [1000, 5000]:
        data = os.urandom(n)
        assert keccak256(data) == keccak(data) == _public_keccak256(data)


def _signed(tx: dict) -> bytes:
    return bytes(Account.sign_transaction(tx, KEY).raw_transaction)


LEGACY = {"nonce": 7, "gasPrice": 10**8, "gas": 210000, "to": ROUTER, "value": 5, "data": "0x38ed1739" + "00" * 64}
TYPED_1559 = {
    "type": 2, "chainId": 42161, "nonce": 300, "maxPriorityFeePerGas": 0, "maxFeePerGas": 10**8,
    "gas": 90000, "to": ROUTER, "value": 10**18, "data": "0x12",
    "accessList": [{"address": ROUTER, "storageKeys": ["0x" + "00" * 31 + "01"]}],
}


@pytest.mark.parametrize(
    ("tx", "tx_type", "chain_id"),
    [
        (dict(LEGACY, chainId=42161), 0, 42161),
        (dict(LEGACY, chainId=1, nonce=0, value=0, data="0x"), 0, 1),
        (dict(LEGACY, type=1, chainId=42161, accessList=[]), 1, 42161),
        (TYPED_1559, 2, 42161),
        (dict(TYPED_1559, to=None, data="0x" + "6000" * 40), 2, 42161),
    ],
    ids=["legacy-eip155", "legacy-zeroes", "eip2930", "eip1559", "eip1559-create"],
)
def test_each_envelope_type_decodes_like_eth_account(tx, tx_type, chain_id):
    raw = _signed(tx)
    decoded = decode_transaction(raw).validate()
    assert decoded.type == tx_type and decoded.chain_id == chain_id
    assert decoded.nonce == tx["nonce"] and decoded.gas == tx["gas"] and decoded.value == tx["value"]
    assert decoded.to == tx["to"]
    assert decoded.data == bytes.fromhex(tx["data"][2:])
    assert decoded.hash == keccak(raw)
    assert decoded.sender == SENDER == Account.recover_transaction(raw)


def test_pre_eip155_legacy_transaction_recovers_its_sender():
    unsigned = [7, 10**8, 21000, bytes.fromhex(ROUTER[2:]), 1, b""]
    signed = Account.unsafe_sign_hash(keccak(rlp.encode(unsigned)), KEY)
    raw = rlp.encode(unsigned + [signed.v, signed.r, signed.s])
    tx = decode_transaction(raw)
    assert tx.chain_id is None and tx.sender == SENDER == Account.recover_transaction(raw)


def test_eip7702_set_code_transaction_decodes_and_recovers():
    auth = Account.sign_authorization({"chainId": 42161, "address": ROUTER, "nonce": 1}, KEY)
    tx = dict(TYPED_1559, authorizationList=[auth])
    tx.pop("type")
    raw = _signed(tx)
    decoded = decode_transaction(raw).validate()
    assert decoded.type == 4 and decoded.to == ROUTER and decoded.nonce == 300
    assert decoded.sender == SENDER == Account.recover_transaction(raw)


@pytest.mark.parametrize("tx_type", [0x03, 0x64, 0x65, 0x66, 0x68, 0x69, 0x6A])
def test_blob_and_arbitrum_internal_types_are_recognised_and_refused(tx_type):
    with pytest.raises(UnsupportedTransactionType) as info:
        decode_transaction(bytes((tx_type,)) + b"\xc0")
    assert info.value.tx_type == tx_type


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", "empty"),
        (b"\x05\xc0", "unknown transaction envelope type 0x05"),
        (b"\x02\x80", "expected an RLP list"),
        (b"\x02\xc3\x01\x02", "RLP list ends at byte"),
        (b"\x02\xc2\x01\x02", "ends after 2 fields"),
        (b"\x02\xcb\x01\xc0" + b"\x01" * 9, "is an RLP list"),
    ],
)
def test_malformed_envelopes_raise_transaction_decode_error(raw, problem):
    with pytest.raises(TransactionDecodeError, match=problem):
        decode_transaction(raw).nonce


def test_a_field_count_error_after_calldata_shows_on_validate_or_sender():
    raw = _signed(TYPED_1559)
    body = rlp.decode(raw[1:])
    broken = b"\x02" + rlp.encode(body[:-1])  # no `s`
    tx = decode_transaction(broken)
    assert tx.nonce == 300  # the cheap fields do not need the tail
    with pytest.raises(TransactionDecodeError, match="11 fields, expected 12"):
        tx.validate()


def _message(l2_msg: bytes, seq: int = 9) -> BroadcastFeedMessage:
    header = L1IncomingMessageHeader(kind=3, sender=bytes(20), block_number=1, timestamp=2)
    return BroadcastFeedMessage(seq, MessageWithMetadata(L1IncomingMessage(header, l2_msg), 0))


def test_block_counts_skipped_types_and_records_problems_without_losing_good_txs():
    good = _signed(TYPED_1559)
    other_chain = _signed(dict(TYPED_1559, chainId=1))
    l2 = encode_l2_batch([good, b"\x03\xc0", b"\x6a\xc0", b"\x02\xc1", other_chain, good])
    block = decode_block(_message(l2), genesis_block=22207817, chain_id=42161)
    assert [tx.index for tx in block.transactions] == [0, 5]
    assert block.skipped_types == 2 and block.block_number == 22207826
    assert len(block.problems) == 2
    assert "tx 3" in block.problems[0] and "signed for chain 1, expected 42161" in block.problems[1]


def test_block_with_a_malformed_l2msg_still_reports_its_sequence_number():
    block = decode_block(_message(b"\x09junk", seq=11))
    assert block.sequence_number == 11 and block.transactions == () and "unknown L2 message kind 9" in block.problems[0]


def test_a_block_packs_to_bytes_and_back_with_the_same_transactions(frame_lines):
    from mevbot.feed.blocks import pack_feed_block, unpack_feed_block

    block = decode_block(decode_broadcast(frame_lines[0]).messages[0])
    again = unpack_feed_block(pack_feed_block(block))
    assert [(t.index, t.raw) for t in again.transactions] == [(t.index, t.raw) for t in block.transactions]
    assert (again.sequence_number, again.block_hash, again.timestamp, again.problems) == (
        block.sequence_number, block.block_hash, block.timestamp, block.problems)
    with pytest.raises(FeedDecodeError):
        unpack_feed_block(pack_feed_block(block)[:-1])
    problem_block = decode_block(_message(b"\x09junk", seq=12))
    assert unpack_feed_block(pack_feed_block(problem_block)) == problem_block


def test_a_failed_full_walk_fails_the_same_way_every_time():
    raw = _signed(TYPED_1559)
    overrun = raw[:-1]  # `s` now claims one byte more than there is
    tx = decode_transaction(overrun[:1] + bytes((0xF8, len(overrun) - 3)) + overrun[3:])
    for _ in range(2):
        with pytest.raises(TransactionDecodeError, match="runs past the end"):
            tx.sender
