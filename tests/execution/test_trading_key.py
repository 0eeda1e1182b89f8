"""TradingKey signs exactly as eth-account's LocalAccount does, and shows no key."""

from __future__ import annotations

import pickle
import random

import pytest
from eth_account import Account

from mevbot.execution.keys import TradingKey


def test_signatures_are_byte_identical_to_eth_accounts_local_account():
    rng = random.Random(7)
    account = Account.from_key(rng.randbytes(32))
    key = TradingKey(account)
    for _ in range(100):
        tx = {"chainId": 42161, "to": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "value": 0, "type": 2,
              "data": rng.randbytes(rng.randrange(0, 600)), "gas": rng.randrange(21_000, 10**7),
              "maxPriorityFeePerGas": rng.randrange(0, 10**9), "maxFeePerGas": rng.randrange(10**9, 10**12),
              "nonce": rng.randrange(0, 10**6)}
        assert key.sign_transaction(tx) == bytes(account.sign_transaction(tx).raw_transaction)


def test_the_key_shows_only_its_address_and_cannot_be_pickled():
    account = Account.from_key(b"\x11" * 32)
    key = TradingKey(account)
    assert repr(key) == str(key) == f"TradingKey(address={account.address})"
    assert account.key.hex() not in repr(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)
