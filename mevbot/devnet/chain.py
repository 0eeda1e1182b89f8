"""Sending signed transactions to the devnet and reading their outcome (sync).

Shared by the deployer and the pytest fixture's helpers: sign an EIP-1559 transaction with
eth-account, send it raw, and wait for its receipt by polling the node with a deadline.
"""

from __future__ import annotations

import time
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from mevbot.devnet.errors import ChainRpcError, DeployError
from mevbot.devnet.jsonrpc import SyncChainRpc

MAX_FEE_PER_GAS = 100 * 10**9
PRIORITY_FEE_PER_GAS = 10**6


def create2_address(deployer: str, salt: bytes, init_code_hash: bytes) -> str:
    digest = keccak(b"\xff" + bytes.fromhex(deployer[2:]) + salt + init_code_hash)
    return to_checksum_address(digest[12:])


def sign_eip1559(account: LocalAccount, *, chain_id: int, nonce: int, to: str | None, data: bytes,
                 value: int = 0, gas: int, max_fee_per_gas: int = MAX_FEE_PER_GAS,
                 priority_fee_per_gas: int = PRIORITY_FEE_PER_GAS) -> bytes:
    return sign_typed(account, 2, chain_id=chain_id, nonce=nonce, to=to, data=data, value=value, gas=gas,
                      max_fee_per_gas=max_fee_per_gas, priority_fee_per_gas=priority_fee_per_gas)


def sign_typed(account: LocalAccount, tx_type: int, *, chain_id: int, nonce: int, to: str | None, data: bytes,
               value: int = 0, gas: int, max_fee_per_gas: int = MAX_FEE_PER_GAS,
               priority_fee_per_gas: int = PRIORITY_FEE_PER_GAS) -> bytes:
    """A signed envelope of type 0 (legacy, EIP-155), 1 (EIP-2930) or 2 (EIP-1559).

    Legacy and 2930 transactions pay ``max_fee_per_gas`` as their gas price.
    """
    tx: dict[str, Any] = {"chainId": chain_id, "nonce": nonce, "gas": gas, "value": value, "data": data}
    if tx_type == 2:
        tx.update(type=2, maxFeePerGas=max_fee_per_gas, maxPriorityFeePerGas=priority_fee_per_gas)
    elif tx_type == 1:
        tx.update(type=1, gasPrice=max_fee_per_gas, accessList=[])
    elif tx_type == 0:
        tx.update(gasPrice=max_fee_per_gas)
    else:
        raise ValueError(f"transaction type {tx_type} is not one the devnet signs (0, 1 or 2)")
    if to is not None:
        tx["to"] = to
    return bytes(account.sign_transaction(tx).raw_transaction)


def wait_for_receipt(rpc: SyncChainRpc, tx_hash: str, *, timeout_s: float = 30.0) -> dict[str, Any]:
    """Poll eth_getTransactionReceipt until the node has one or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return receipt
        if time.monotonic() > deadline:
            raise ChainRpcError("eth_getTransactionReceipt", f"no receipt for {tx_hash} within {timeout_s} s")
        time.sleep(0.02)  # polling a real condition (the node's receipt) with a deadline


class Sender:
    """One account sending transactions in order, tracking its own nonce."""

    def __init__(self, rpc: SyncChainRpc, account: LocalAccount, chain_id: int) -> None:
        self.rpc = rpc
        self.account = account
        self.chain_id = chain_id
        self.nonce = int(rpc.call("eth_getTransactionCount", account.address, "pending"), 16)

    def send(self, to: str | None, data: bytes, *, value: int = 0, gas: int | None = None,
             what: str = "transaction") -> dict[str, Any]:
        """Send and wait for the receipt; a revert raises DeployError naming ``what``."""
        if gas is None:
            call = {"from": self.account.address, "data": "0x" + data.hex(), "value": hex(value)}
            if to is not None:
                call["to"] = to
            try:
                gas = int(int(self.rpc.call("eth_estimateGas", call), 16) * 1.25) + 10_000
            except ChainRpcError as exc:
                raise DeployError(f"{what} would revert: {exc}") from exc
        raw = sign_eip1559(self.account, chain_id=self.chain_id, nonce=self.nonce, to=to, data=data,
                           value=value, gas=gas)
        tx_hash = self.rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
        self.nonce += 1
        receipt = wait_for_receipt(self.rpc, tx_hash)
        if int(receipt["status"], 16) != 1:
            raise DeployError(f"{what} reverted (tx {tx_hash})")
        return receipt

    def deploy(self, creation_code: bytes, constructor_args: bytes = b"", *, what: str) -> str:
        receipt = self.send(None, creation_code + constructor_args, what=f"deploying {what}")
        return to_checksum_address(receipt["contractAddress"])

    def call(self, to: str, data: bytes) -> bytes:
        result = self.rpc.call("eth_call", {"from": self.account.address, "to": to, "data": "0x" + data.hex()}, "latest")
        return bytes.fromhex(result[2:])
