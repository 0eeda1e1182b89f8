"""The hot-path EIP-1559 signer gives eth-account's bytes exactly, and is used only where it applies."""

from __future__ import annotations

import rlp
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from mevbot.execution.keys import TradingKey
from mevbot.execution.signing import fast_path_applies, rlp_bytes, rlp_int

KEY = TradingKey(Account.from_key("0x" + "4c" * 32))

uint = st.one_of(st.integers(0, 300), st.integers(0, 2**64), st.integers(0, 2**256 - 1))
executor_transactions = st.fixed_dictionaries({
    "chainId": st.one_of(st.just(42161), st.integers(1, 2**64)),
    "nonce": st.one_of(st.integers(0, 200), st.integers(0, 2**64 - 2)),
    "maxPriorityFeePerGas": uint, "maxFeePerGas": uint, "gas": st.integers(21_000, 2**63),
    "to": st.binary(min_size=20, max_size=20).map(to_checksum_address),
    "data": st.binary(max_size=1200), "value": st.just(0), "type": st.just(2),
})


@settings(max_examples=400, deadline=None)
@given(executor_transactions)
def test_the_fast_signer_gives_eth_accounts_bytes(tx):
    assert fast_path_applies(tx)
    assert KEY.sign_transaction(tx) == KEY.sign_transaction_with_eth_account(tx)


@given(st.one_of(uint, st.binary(max_size=100)))
def test_rlp_items_match_the_rlp_package(value):
    ours = rlp_int(value) if isinstance(value, int) else rlp_bytes(value)
    assert ours == rlp.encode(value)


def test_the_signed_transaction_recovers_to_the_key_and_hashes_as_the_node_would():
    tx = {"chainId": 42161, "nonce": 7, "maxPriorityFeePerGas": 10**7, "maxFeePerGas": 2 * 10**8, "gas": 400_000,
          "to": to_checksum_address("0x" + "ab" * 20), "data": bytes.fromhex("deadbeef") + bytes(64), "value": 0,
          "type": 2}
    raw = KEY.sign_transaction(tx)
    assert Account.recover_transaction(raw) == KEY.address
    assert keccak(raw) == Account.sign_transaction(tx, Account.from_key("0x" + "4c" * 32).key).hash


def test_other_shapes_are_left_to_eth_account():
    base = {"chainId": 1, "nonce": 0, "maxPriorityFeePerGas": 1, "maxFeePerGas": 2, "gas": 21_000,
            "to": to_checksum_address("0x" + "01" * 20), "data": b"", "value": 0, "type": 2}
    assert fast_path_applies(base)
    assert not fast_path_applies(base | {"value": 1})
    assert not fast_path_applies(base | {"accessList": []})
    assert not fast_path_applies({k: v for k, v in base.items() if k != "type"} | {"gasPrice": 1})
    legacy = {"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21_000, "to": base["to"], "value": 1, "data": b""}
    assert KEY.sign_transaction(legacy) == KEY.sign_transaction_with_eth_account(legacy)
